"""Claim's composition root."""

from services.claim import api, handlers, pages, project_api, project_pages
from services.claim.board import TaskBoard
from services.claim.hall import ProjectHall
from services.claim.metrics import ClaimMetrics
from services.claim.store import TABLES
from shared.runtime import Context, Service

NAME = "claim"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    metrics = ClaimMetrics.register(context.registry, context.district)
    handlers.subscribe(service.consumers, context, metrics)
    board = TaskBoard(service.uow, context.clock, metrics)
    hall = ProjectHall(service.uow, context.clock, metrics, context.district)
    service.routers.append(api.build_router(board, context))
    service.routers.append(project_api.build_router(hall, context))
    service.routers.append(pages.build_page_router(board, context))
    service.routers.append(project_pages.build_project_pages(hall, context))
    return service
