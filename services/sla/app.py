"""SLA's composition root."""

from services.sla import api, handlers, pages
from services.sla.auditor import Auditor
from services.sla.firing import FiringLoop
from services.sla.metrics import SlaMetrics
from services.sla.store import TABLES
from shared.clock import SystemClock
from shared.runtime import Context, Service

NAME = "sla"


def build_service(context: Context, *, database_url: str | None = None) -> Service:
    service = Service.assemble(NAME, context, TABLES, database_url)
    handlers.subscribe(service.consumers, context)
    metrics = SlaMetrics.register(context.registry, context.district)
    shared_clock = not service.db.is_sqlite and isinstance(context.clock, SystemClock)
    loop = FiringLoop(service.uow, context.clock, metrics, poll_seconds=context.settings.sla_poll_seconds,
                      database_time=shared_clock)
    auditor = Auditor(service.uow, context.clock, metrics)
    service.workers.extend([loop.run, auditor.run])
    service.routers.append(api.build_router(service.uow, context))
    service.routers.append(pages.build_page_router(service.uow, context))
    return service
