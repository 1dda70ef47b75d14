"""Feedback's subscribers: learn each case's tracking code, and when it becomes ratable;
credit volunteer projects' points."""

from collections.abc import Sequence

from services.feedback import crediting
from services.feedback.metrics import FeedbackMetrics
from services.feedback.store import RatableCase, insert_cases
from shared import topics
from shared.broker import declare_publications
from shared.consuming import Consumers, load_by_case
from shared.events import CaseRegistered, FeedbackEvent, ProjectEvent, TaskEvent, TaskResolved
from shared.idempotency import Transaction
from shared.runtime import Context


def subscribe(consumers: Consumers, context: Context, metrics: FeedbackMetrics) -> None:
    declare_publications(consumers.broker, "feedback", topics.FEEDBACK_EVENTS, FeedbackEvent,
                         "Citizen rating, member evaluation, and the case closed or reopened.")

    cases = load_by_case(RatableCase.case_id)

    @consumers.on_batch(topics.CASE_REGISTERED, title="feedback.registered")
    async def on_registered(tx: Transaction, events: Sequence[CaseRegistered]) -> None:
        await cases(tx, events)
        new = {}
        for event in events:
            case = await tx.rows.get(RatableCase.case_id, str(event.case_id))
            if case is None:
                new[str(event.case_id)] = {"case_id": str(event.case_id), "correlation_id": str(event.correlation_id),
                                           "tracking_code_hash": event.tracking_code_hash}
            else:  # its resolve came first, on another topic
                case.tracking_code_hash = event.tracking_code_hash
        await insert_cases(tx.session, list(new.values()))

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

    rules = context.district.points

    @consumers.on_batch(topics.PROJECT_EVENTS, title="feedback.projects",
                        description="Keeps each project's number, title and evaluation code; credits points.")
    async def on_projects(tx: Transaction, events: Sequence[ProjectEvent]) -> None:
        for event in events:
            await crediting.apply(tx, event, rules, metrics.credited)
