from dataclasses import dataclass
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.intake.caseview import OPEN_STATUSES
from services.intake.counts import AGE_BANDS, NO_BRANCH
from services.intake.report import MEASURES, PERIODS
from shared.district import District
from shared.events import SlaStage, Source
from shared.metrics import Snapshot, start_at_zero


@dataclass(frozen=True)
class IntakeMetrics:
    """Intake counts what it registers, and reads from its case register what supervisors
    steer by: every replica reads the same database, so dashboards take the max over
    instances of these gauges, never the sum."""

    received: Counter
    open_cases: Snapshot
    outcomes: Snapshot
    breaching_soon: Snapshot
    overdue: Snapshot
    street_queue: Snapshot
    open_by_age: Snapshot
    branch_info: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry, district: District) -> "IntakeMetrics":
        branches = district.branch_codes
        stages_by_branch = [(stage, branch) for stage in SlaStage for branch in branches]
        metrics = cls(
            received=Counter("appeal_cases_received", "Cases registered.", ["source", "category"], registry=registry),
            open_cases=Snapshot("appeal_open_cases", "Cases not yet closed.", ["branch", "status"], registry,
                                zeros=[(b, status) for b in [*branches, NO_BRANCH] for status in OPEN_STATUSES]),
            outcomes=Snapshot(
                "appeal_case_outcomes", "Of the cases registered in the period, a branch's counts that the report's "
                "rates divide (measure: cases, dispatched, accepted_on_time, responded_on_time, resolved, rated, "
                "satisfied); branch none: cases in the street's queue.", ["period", "street", "branch", "measure"],
                registry, zeros=[(period, street, branch, measure) for period in PERIODS
                                 for street, branch in _branches_and_queues(district) for measure in MEASURES]),
            breaching_soon=Snapshot("appeal_cases_breaching_soon", "Open cases warned about whose deadline has not "
                                    "passed, by the deadline that counts.", ["stage", "branch"], registry,
                                    zeros=stages_by_branch),
            overdue=Snapshot("appeal_cases_overdue", "Open cases past the deadline that counts.", ["stage", "branch"],
                             registry, zeros=stages_by_branch),
            street_queue=Snapshot("appeal_street_queue", "Cases waiting in a street's queue.", ["street"], registry,
                                  zeros=[(street.code,) for street in district.streets]),
            open_by_age=Snapshot("appeal_open_cases_by_age", "Open cases by time since registration.",
                                 ["branch", "age"], registry,
                                 zeros=[(b, age) for b in branches for age, _ in AGE_BANDS]),
            branch_info=Gauge("appeal_branch_info", "Each branch of the district, with its names and street; always 1.",
                              ["branch", "branch_name", "community", "community_name", "street", "street_name"],
                              registry=registry),
        )
        start_at_zero(metrics.received, get_args(Source), [category.code for category in district.categories])
        for street in district.streets:
            for community in street.communities:
                metrics.branch_info.labels(community.branch.code, community.branch.name, community.code,
                                           community.name, street.code, street.name).set(1)
        return metrics


def _branches_and_queues(district: District) -> list[tuple[str, str]]:
    """(street, branch) of every branch, and (street, "none") of every street's queue."""
    return [(street.code, branch) for street in district.streets
            for branch in [*(c.branch.code for c in street.communities), NO_BRANCH]]
