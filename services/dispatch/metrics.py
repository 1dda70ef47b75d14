from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from shared.district import District
from shared.metrics import start_at_zero


@dataclass(frozen=True)
class DispatchMetrics:
    dispatched: Counter
    escalated: Counter
    reassigned: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry, district: District | None = None) -> "DispatchMetrics":
        """The district's branches and streets start their series at zero (``start_at_zero``)."""
        metrics = cls(
            dispatched=Counter("appeal_cases_dispatched", "Dispatches to a branch.", ["branch"], registry=registry),
            escalated=Counter("appeal_cases_escalated", "Cases sent to a street's queue.", ["street"],
                              registry=registry),
            reassigned=Counter("appeal_cases_reassigned", "Cases a supervisor handed to a branch (改派).", ["branch"],
                               registry=registry),
        )
        if district is not None:
            start_at_zero(metrics.dispatched, district.branch_codes)
            start_at_zero(metrics.reassigned, district.branch_codes)
            start_at_zero(metrics.escalated, [street.code for street in district.streets])
        return metrics
