"""Feedback's composition root."""

from services.feedback import api, handlers, pages
from services.feedback.metrics import FeedbackMetrics
from services.feedback.store import TABLES
from shared.runtime import Context, Service

NAME = "feedback"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    handlers.subscribe(service.consumers, context)
    metrics = FeedbackMetrics.register(context.registry, context.district)
    service.routers.append(api.build_router(service.uow, context, metrics))
    service.routers.append(pages.build_page_router(service.uow, context, metrics))
    return service
