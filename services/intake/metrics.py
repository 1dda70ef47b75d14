from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class IntakeMetrics:
    received: Counter
    open_cases: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "IntakeMetrics":
        return cls(
            received=Counter("appeal_cases_received", "Cases registered.", ["source", "category"], registry=registry),
            open_cases=Gauge("appeal_open_cases", "Cases not yet closed.", ["branch", "status"], registry=registry),
        )
