"""Intake's composition root."""

import asyncio

from services.intake import api, handlers, pages, supervisor_pages
from services.intake.metrics import IntakeMetrics
from services.intake.store import TABLES, open_case_counts
from shared.runtime import Context, Service

NAME = "intake"
OPEN_CASES_REFRESH_SECONDS = 5.0


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    metrics = IntakeMetrics.register(context.registry)
    handlers.subscribe(service.consumers, context, metrics)
    service.routers.append(api.build_router(service.uow, context, metrics))
    service.routers.append(pages.build_page_router(service.uow, context, metrics))
    service.routers.append(supervisor_pages.build_supervisor_router(service.uow, context))

    async def refresh_open_cases() -> None:
        while True:
            async with service.db.reading() as session:
                counts = await open_case_counts(session)
            metrics.open_cases.clear()
            for branch, status, count in counts:
                metrics.open_cases.labels(branch, status).set(count)
            await asyncio.sleep(OPEN_CASES_REFRESH_SECONDS)

    service.workers.append(refresh_open_cases)
    return service
