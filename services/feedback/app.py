"""Feedback's composition root."""

from services.feedback import api, handlers
from services.feedback.metrics import FeedbackMetrics
from services.feedback.store import TABLES
from shared.broker import make_broker
from shared.runtime import Context, Service, service_database

NAME = "feedback"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    db = service_database(context.settings, NAME, TABLES, database_url)
    service = Service.assemble(NAME, make_broker(context.settings, NAME), db, context.settings)
    handlers.subscribe(service.broker, service.uow, context)
    service.routers.append(api.build_router(service.uow, context, FeedbackMetrics.register(context.registry)))
    return service
