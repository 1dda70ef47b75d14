"""Feedback's composition root."""

from services.feedback import api, handlers
from services.feedback.metrics import FeedbackMetrics
from services.feedback.store import TABLES
from shared.runtime import Context, Service

NAME = "feedback"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    handlers.subscribe(service.broker, service.uow, context)
    service.routers.append(api.build_router(service.uow, context, FeedbackMetrics.register(context.registry)))
    return service
