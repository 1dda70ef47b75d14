"""Feedback's subscribers: learn each case's tracking code, and when it becomes ratable."""

from faststream.kafka import KafkaBroker

from services.feedback.store import RatableCase
from shared import topics
from shared.broker import consumer_options, declare_publications
from shared.events import CaseRegistered, FeedbackEvent, TaskEvent, TaskResolved
from shared.idempotency import UnitOfWork
from shared.runtime import Context


def subscribe(broker: KafkaBroker, uow: UnitOfWork, context: Context) -> None:
    options = consumer_options(context.settings, "appeal-feedback")
    declare_publications(broker, "feedback", topics.FEEDBACK_EVENTS, FeedbackEvent,
                         "Citizen rating, member evaluation, and the case closed or reopened.")

    @broker.subscriber(topics.CASE_REGISTERED, **options, title="feedback.registered")
    async def on_registered(event: CaseRegistered) -> None:
        async with uow.begin(event.event_id) as tx:
            if tx.duplicate:
                return
            case = await tx.session.get(RatableCase, str(event.case_id))
            if case is None:
                tx.session.add(RatableCase(case_id=str(event.case_id), correlation_id=str(event.correlation_id),
                                           tracking_code_hash=event.tracking_code_hash))
            else:
                case.tracking_code_hash = event.tracking_code_hash

    @broker.subscriber(topics.TASK_EVENTS, **options, title="feedback.tasks")
    async def on_task(event: TaskEvent) -> None:
        if not isinstance(event, TaskResolved):
            return
        async with uow.begin(event.event_id) as tx:
            if tx.duplicate:
                return
            case = await tx.session.get(RatableCase, str(event.case_id))
            if case is None:
                # The registration may still be on its way on another topic.
                case = RatableCase(case_id=str(event.case_id), correlation_id=str(event.correlation_id),
                                   tracking_code_hash="")
                tx.session.add(case)
            if event.generation <= case.generation:
                return
            case.state, case.generation = "awaiting", event.generation
            case.branch_code, case.member_id, case.resolved_at = event.branch_code, event.member_id, event.occurred_at
