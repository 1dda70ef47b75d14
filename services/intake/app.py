"""Intake's composition root."""

from services.intake import api, handlers, pages, supervisor_pages
from services.intake.gauges import CaseGauges
from services.intake.metrics import IntakeMetrics
from services.intake.store import TABLES
from shared.runtime import Context, Service

NAME = "intake"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    metrics = IntakeMetrics.register(context.registry, context.district)
    handlers.subscribe(service.consumers, context, metrics)
    service.routers.append(api.build_router(service.uow, context, metrics))
    service.routers.append(pages.build_page_router(service.uow, context, metrics))
    service.routers.append(supervisor_pages.build_supervisor_router(service.uow, context))
    gauges = CaseGauges(service.db, context.district, context.clock, metrics)
    service.workers.extend([gauges.keep_open_cases, gauges.keep_supervision])
    return service
