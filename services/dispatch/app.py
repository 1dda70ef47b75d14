"""Dispatch's composition root."""

from services.dispatch import api, handlers, pages
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.reassigning import Reassigning
from services.dispatch.store import TABLES
from shared.runtime import Context, Service

NAME = "dispatch"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    metrics = DispatchMetrics.register(context.registry, context.district)
    handlers.subscribe(service.consumers, context, metrics)
    desk = Reassigning(service.uow, context.district, context.clock, metrics)
    service.routers.append(api.build_router(desk, context))
    service.routers.append(pages.build_page_router(desk, context))
    return service
