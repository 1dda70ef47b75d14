"""Dispatch's composition root."""

from services.dispatch import handlers
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.store import TABLES
from shared.runtime import Context, Service

NAME = "dispatch"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    handlers.subscribe(service.broker, service.uow, context, DispatchMetrics.register(context.registry))
    return service
