from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from services.feedback.ledger import Side
from services.feedback.points import Credit, Reason
from shared.district import District
from shared.metrics import start_at_zero


@dataclass(frozen=True)
class FeedbackMetrics:
    feedback: Counter
    evaluations: Counter
    closed: Counter
    points: Counter
    project_evaluations: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry, district: District | None = None) -> "FeedbackMetrics":
        """The district's branches start every per-branch series at zero (``start_at_zero``)."""
        metrics = cls(
            feedback=Counter("appeal_feedback", "Citizen ratings.", ["branch", "satisfied"], registry=registry),
            evaluations=Counter("appeal_member_evaluations", "Members' evaluations of cases.", ["branch"],
                                registry=registry),
            closed=Counter("appeal_cases_closed", "Cases closed by a satisfied citizen.", ["branch"],
                           registry=registry),
            points=Counter("appeal_points_credited", "Volunteer points written to the ledger, by the member's "
                           "branch and the reason; late_withdrawal counts the points taken off.",
                           ["branch", "reason"], registry=registry),
            project_evaluations=Counter("appeal_project_evaluations", "Evaluations of volunteer projects, by "
                                        "who gave them.", ["side"], registry=registry),
        )
        branches = district.branch_codes if district else []
        start_at_zero(metrics.feedback, branches, ["true", "false"])
        start_at_zero(metrics.evaluations, branches)
        start_at_zero(metrics.closed, branches)
        start_at_zero(metrics.points, branches, list(Reason))
        start_at_zero(metrics.project_evaluations, list(Side))
        return metrics

    def rated(self, branch_code: str | None, satisfied: bool) -> None:
        branch = branch_code or "none"
        self.feedback.labels(branch, str(satisfied).lower()).inc()
        if satisfied:
            self.closed.labels(branch).inc()

    def credited(self, credits: list[Credit]) -> None:
        """Entries written, after their commit. A counter only grows, so a penalty adds
        the points it took off, under its own reason."""
        for credit in credits:
            self.points.labels(credit.branch_code, credit.reason.value).inc(abs(credit.points))
