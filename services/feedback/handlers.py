"""Feedback's subscribers: learn each case's tracking code, and when it becomes ratable."""

from services.feedback.store import RatableCase
from shared import topics
from shared.broker import declare_publications
from shared.consuming import Consumers, load_by_case
from shared.events import CaseRegistered, FeedbackEvent, TaskEvent, TaskResolved
from shared.idempotency import Transaction
from shared.runtime import Context


def subscribe(consumers: Consumers, context: Context) -> None:
    declare_publications(consumers.broker, "feedback", topics.FEEDBACK_EVENTS, FeedbackEvent,
                         "Citizen rating, member evaluation, and the case closed or reopened.")

    cases = load_by_case(RatableCase.case_id)

    @consumers.on(topics.CASE_REGISTERED, title="feedback.registered", prepare=cases)
    async def on_registered(tx: Transaction, event: CaseRegistered) -> None:
        case = await tx.rows.get(RatableCase.case_id, str(event.case_id))
        if case is None:
            tx.rows.add(RatableCase(case_id=str(event.case_id), correlation_id=str(event.correlation_id),
                                    tracking_code_hash=event.tracking_code_hash))
        else:
            case.tracking_code_hash = event.tracking_code_hash

    @consumers.on(topics.TASK_EVENTS, title="feedback.tasks", prepare=cases)
    async def on_task(tx: Transaction, event: TaskEvent) -> None:
        if not isinstance(event, TaskResolved):
            return
        case = await tx.rows.get(RatableCase.case_id, str(event.case_id))
        if case is None:
            # The registration may still be on its way on another topic.
            case = RatableCase(case_id=str(event.case_id), correlation_id=str(event.correlation_id),
                               tracking_code_hash="")
            tx.rows.add(case)
        if event.generation <= case.generation:
            return
        case.state, case.generation = "awaiting", event.generation
        case.branch_code, case.member_id, case.resolved_at = event.branch_code, event.member_id, event.occurred_at
