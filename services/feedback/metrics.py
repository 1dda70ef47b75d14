from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter


@dataclass(frozen=True)
class FeedbackMetrics:
    feedback: Counter
    evaluations: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "FeedbackMetrics":
        return cls(
            feedback=Counter("appeal_feedback", "Citizen ratings.", ["branch", "satisfied"], registry=registry),
            evaluations=Counter("appeal_member_evaluations", "Members' evaluations of cases.", ["branch"],
                                registry=registry),
        )
