"""Claim's subscribers: dispatches put tasks on a branch's board; SLA events mark them,
and an accept breach takes back a task nobody claimed."""

import uuid

import structlog
from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncSession

from services.claim import store
from shared import topics
from shared.broker import consumer_options, declare_publications
from shared.events import CaseDispatched, DispatchEvent, SlaBreached, SlaEvent, TaskEvent, TaskExpired, event_id_for
from shared.idempotency import UnitOfWork
from shared.runtime import Context

log = structlog.get_logger()


def subscribe(broker: KafkaBroker, uow: UnitOfWork, context: Context) -> None:
    options = consumer_options(context.settings, "appeal-claim")
    declare_publications(broker, "claim", topics.TASK_EVENTS, TaskEvent,
                         "Members claimed, responded, resolved or returned a task; or it expired unclaimed.")

    @broker.subscriber(topics.CASE_DISPATCH, **options, title="claim.dispatch")
    async def on_dispatch(event: DispatchEvent) -> None:
        async with uow.begin(event.event_id) as tx:
            if tx.duplicate:
                return
            task = await store.find(tx.session, str(event.case_id))
            if task is not None and task.generation >= event.generation:
                return
            if isinstance(event, CaseDispatched):
                fields = dict(branch_code=event.branch_code, status="open", accept_deadline=event.accept_deadline,
                              respond_deadline=event.respond_deadline)
            else:
                fields = dict(branch_code=None, status="escalated", accept_deadline=None, respond_deadline=None)
            await _replace(tx.session, task, event, fields)

    @broker.subscriber(topics.SLA_EVENTS, **options, title="claim.sla")
    async def on_sla(event: SlaEvent) -> None:
        async with uow.begin(event.event_id) as tx:
            task = None if tx.duplicate else await store.find(tx.session, str(event.case_id))
            if task is None or task.generation != event.generation:
                return
            task.warning = f"{event.stage}_{'breached' if isinstance(event, SlaBreached) else 'warning'}"
            if not (isinstance(event, SlaBreached) and event.stage == "accept"):
                return
            if not await store.move(tx.session, task, ("open",), {"status": "expired"}):
                log.info("stale_accept_breach", case_id=task.case_id, status=task.status)
                return
            case_id = uuid.UUID(task.case_id)
            tx.emit(TaskExpired(event_id=event_id_for(case_id, "expired", task.generation), case_id=case_id,
                                correlation_id=uuid.UUID(task.correlation_id), occurred_at=context.clock.now(),
                                generation=task.generation, branch_code=task.branch_code or ""))
        log.info("task_expired", case_id=str(event.case_id), generation=event.generation)


async def _replace(session: AsyncSession, task: store.Task | None, event: DispatchEvent, fields: dict) -> None:
    common = dict(generation=event.generation, street_code=event.street_code, member_id=None,
                  summary=event.summary.model_dump_json(), dispatched_at=event.occurred_at, claimed_at=None,
                  responded_at=None, resolved_at=None, note=None, warning=None)
    if task is None:
        session.add(store.Task(case_id=str(event.case_id), correlation_id=str(event.correlation_id),
                               **common, **fields))
        return
    for name, value in {**common, **fields}.items():
        setattr(task, name, value)
