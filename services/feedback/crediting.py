"""Project events and evaluations turned into ledger entries, each inside the caller's
transaction.

Events of one project come in order (one key, one partition), but a consumer that lags may
see a confirmation before feedback ever learnt the project (a replay from another offset,
a topic recreated): a confirmation carries everything its own credit needs, so it is
credited at once and kept, and the project's number and title join it when they come.
The bonus needs a good resident evaluation, which needs the project known, and both
sides take the project's row lock first: whichever of the good evaluation and the
confirmation commits second sees the other and writes the bonus.
"""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.feedback import ledger, points
from services.feedback.ledger import ProjectEvaluation, Side
from services.feedback.points import Completion, Credit
from shared.auth import Identity
from shared.district import PointsRules
from shared.errors import Refused
from shared.events import ProjectCompletionConfirmed, ProjectEvent, ProjectPublished, ProjectSlotWithdrawn
from shared.idempotency import Transaction
from shared.privacy import tracking_hash

Credited = Callable[[list[Credit]], None]
"""Told, after the commit, of the entries really written."""


async def apply(tx: Transaction, event: ProjectEvent, rules: PointsRules, credited: Credited) -> None:
    project_id = str(event.project_id)
    written: list[Credit] = []
    if isinstance(event, ProjectPublished):
        await ledger.keep_project(tx.session, {
            "project_id": project_id, "project_no": event.project_no, "title": event.title,
            "branch_code": event.branch_code, "street_code": event.street_code, "points": event.points,
            "evaluation_code_hash": event.evaluation_code_hash, "starts_at": event.starts_at.astimezone(UTC),
            "ends_at": event.ends_at.astimezone(UTC)})
    elif isinstance(event, ProjectCompletionConfirmed):
        project = await ledger.locked_project(tx.session, project_id)
        member = Completion(event.member_id, event.branch_code, event.street_code)
        await ledger.keep_completion(tx.session, project_id, member, event.points, event.occurred_at)
        good = project is not None and project.rated_good_at is not None
        written = await ledger.credit(tx.session, project_id, points.completion_credits(
            member, event.points, good_evaluation=good, rules=rules), event.occurred_at)
    elif isinstance(event, ProjectSlotWithdrawn):
        member = Completion(event.member_id, event.branch_code, event.street_code)
        written = await ledger.credit(tx.session, project_id,
                                      points.late_withdrawal_credits(member, event.late, rules), event.occurred_at)
    if written:
        tx.after_commit(lambda: credited(written))


@dataclass(frozen=True)
class ResidentVerdict:
    evaluation_code: str
    rating: int
    comment: str | None


async def evaluate_as_resident(tx: Transaction, project_id: str, verdict: ResidentVerdict, rules: PointsRules,
                               now: datetime, credited: Credited) -> None:
    """A resident served evaluates the project with its code; a good rating, the first,
    earns every confirmed member the bonus. 409 before any completion is confirmed: there
    is nothing yet to evaluate."""
    project = await ledger.locked_project(tx.session, project_id)
    if project is None:
        raise Refused(404, "no such project")
    if not hmac.compare_digest(project.evaluation_code_hash, tracking_hash(verdict.evaluation_code)):
        raise Refused(403, "the evaluation code does not match this project")
    done = await ledger.completions(tx.session, project_id)
    if not done:
        raise Refused(409, "no member's completion of this project has been confirmed yet")
    tx.session.add(ProjectEvaluation(project_id=project_id, side=Side.RESIDENT, rating=verdict.rating,
                                     comment=verdict.comment, at=now))
    if points.is_good(verdict.rating, rules) and project.rated_good_at is None:
        project.rated_good_at = now
        written = await ledger.credit(tx.session, project_id,
                                      points.bonus_credits([c.as_completion() for c in done], rules), now)
        if written:
            tx.after_commit(lambda: credited(written))


async def evaluate_as_member(tx: Transaction, project_id: str, who: Identity, rating: int, comment: str | None,
                             now: datetime) -> None:
    """A member whose completion was confirmed evaluates the project, once."""
    project = await ledger.locked_project(tx.session, project_id)
    if project is None:
        raise Refused(404, "no such project")
    if not await ledger.completions(tx.session, project_id, who.user_id):
        raise Refused(403, "only members whose completion was confirmed evaluate the project")
    if await ledger.member_evaluated(tx.session, project_id, who.user_id):
        raise Refused(409, "you have already evaluated this project")
    tx.session.add(ProjectEvaluation(project_id=project_id, side=Side.MEMBER, member_id=who.user_id, rating=rating,
                                     comment=comment, at=now))
