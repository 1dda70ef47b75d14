"""SLA's composition root."""

from services.sla import handlers
from services.sla.firing import FiringLoop
from services.sla.metrics import SlaMetrics
from services.sla.store import TABLES
from shared.runtime import Context, Service

NAME = "sla"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    handlers.subscribe(service.broker, service.uow, context)
    loop = FiringLoop(service.uow, context.clock, SlaMetrics.register(context.registry),
                      poll_seconds=context.settings.sla_poll_seconds)
    service.workers.append(loop.run)
    return service
