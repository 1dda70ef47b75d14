"""Claim's composition root."""

from services.claim import api, handlers
from services.claim.board import TaskBoard
from services.claim.metrics import ClaimMetrics
from services.claim.store import TABLES
from shared.broker import make_broker
from shared.runtime import Context, Service, service_database

NAME = "claim"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    db = service_database(context.settings, NAME, TABLES, database_url)
    service = Service.assemble(NAME, make_broker(context.settings, NAME), db, context.settings)
    handlers.subscribe(service.broker, service.uow, context)
    board = TaskBoard(service.uow, context.clock, ClaimMetrics.register(context.registry))
    service.routers.append(api.build_router(board, context))
    return service
