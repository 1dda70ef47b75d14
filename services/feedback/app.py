"""Feedback's composition root."""

from services.feedback import api, handlers, pages, points_api, points_pages
from services.feedback.metrics import FeedbackMetrics
from services.feedback.store import TABLES
from shared.runtime import Context, Service

NAME = "feedback"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    metrics = FeedbackMetrics.register(context.registry, context.district)
    handlers.subscribe(service.consumers, context, metrics)
    service.routers.append(api.build_router(service.uow, context, metrics))
    service.routers.append(pages.build_page_router(service.uow, context, metrics))
    service.routers.append(points_api.build_router(service.uow, context, metrics))
    service.routers.append(points_pages.build_page_router(service.uow, context, metrics))
    return service
