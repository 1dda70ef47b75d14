"""Dispatch's composition root."""

from services.dispatch import handlers
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.store import TABLES
from shared.broker import make_broker
from shared.runtime import Context, Service, service_database

NAME = "dispatch"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    db = service_database(context.settings, NAME, TABLES, database_url)
    service = Service.assemble(NAME, make_broker(context.settings, NAME), db, context.settings)
    handlers.subscribe(service.broker, service.uow, context, DispatchMetrics.register(context.registry))
    return service
