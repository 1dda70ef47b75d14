from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from services.claim.tasks import CLAIM, RESOLVE, RESPOND, RESUME, RETURN, SUSPEND
from shared.district import District
from shared.events import SlaStage
from shared.metrics import SLA_BUCKETS, start_at_zero

MOVE_OUTCOMES = ("done", "refused")


@dataclass(frozen=True)
class ClaimMetrics:
    accept_seconds: Histogram
    respond_seconds: Histogram
    moves: Counter
    breaches: Counter
    urges: Counter
    projects_published: Counter
    project_slots_claimed: Counter
    project_withdrawals: Counter
    project_completions: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry, district: District | None = None) -> "ClaimMetrics":
        """The district's branches start every per-branch series at zero (``start_at_zero``)."""
        metrics = cls(
            accept_seconds=Histogram("appeal_accept_seconds", "Dispatch to claim.", ["branch"],
                                     buckets=SLA_BUCKETS, registry=registry),
            respond_seconds=Histogram("appeal_respond_seconds", "Dispatch to first contact.", ["branch"],
                                      buckets=SLA_BUCKETS, registry=registry),
            moves=Counter("appeal_task_moves", "Task transitions by members.", ["move", "outcome"],
                          registry=registry),
            breaches=Counter("appeal_sla_breaches", "Deadlines missed, confirmed against the task.",
                             ["stage", "branch"], registry=registry),
            urges=Counter("appeal_urges", "Urges (督办) by supervisors, per branch urged.", ["branch"],
                          registry=registry),
            projects_published=Counter("appeal_projects_published", "Volunteer projects published (each "
                                       "occurrence of a recurring one), per street.", ["street"], registry=registry),
            project_slots_claimed=Counter("appeal_project_slots_claimed", "Volunteer project slots claimed, per "
                                          "claiming member's branch.", ["branch"], registry=registry),
            project_withdrawals=Counter("appeal_project_withdrawals", "Members who withdrew from a volunteer "
                                        "project, per their branch; late: after the claim cut-off.",
                                        ["branch", "late"], registry=registry),
            project_completions=Counter("appeal_project_completions", "Volunteer project completions confirmed, "
                                        "per member's branch.", ["branch"], registry=registry),
        )
        branches = district.branch_codes if district else []
        start_at_zero(metrics.moves, [move.name for move in (CLAIM, RESPOND, RESOLVE, RETURN, SUSPEND, RESUME)],
                      MOVE_OUTCOMES)
        start_at_zero(metrics.breaches, list(SlaStage), branches)
        for per_branch in (metrics.urges, metrics.accept_seconds, metrics.respond_seconds,
                           metrics.project_slots_claimed, metrics.project_completions):
            start_at_zero(per_branch, branches)
        start_at_zero(metrics.projects_published, [street.code for street in district.streets] if district else [])
        start_at_zero(metrics.project_withdrawals, branches, ["false", "true"])
        return metrics
