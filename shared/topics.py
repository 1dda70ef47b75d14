"""Every Kafka topic name, defined once.

Each internal topic has exactly one producing service, so the per-partition order of
one case's events (they are keyed by case id) is the order that service decided them.
"""

from dataclasses import dataclass

INBOUND_HOTLINE = "appeal.inbound.hotline"
INBOUND_GRID = "appeal.inbound.grid"
DEAD_LETTERS = "appeal.dlq"

CASE_REGISTERED = "appeal.case.registered"
CASE_DISPATCH = "appeal.case.dispatch"
TASK_EVENTS = "appeal.task.events"
SLA_EVENTS = "appeal.sla.events"
FEEDBACK_EVENTS = "appeal.feedback.events"
PROJECT_EVENTS = "appeal.project.events"

INBOUND_TOPICS = (INBOUND_HOTLINE, INBOUND_GRID)
CASE_EVENT_TOPICS = (CASE_REGISTERED, CASE_DISPATCH, TASK_EVENTS, SLA_EVENTS, FEEDBACK_EVENTS)
INTERNAL_TOPICS = (*CASE_EVENT_TOPICS, PROJECT_EVENTS)
"""Every topic the services write: the case events, and the volunteer projects' (keyed by project id)."""
ALL_TOPICS = (*INBOUND_TOPICS, *INTERNAL_TOPICS, DEAD_LETTERS)


@dataclass(frozen=True)
class TopicMap:
    """Which topic carries which event type; the outbox relay publishes by it."""

    by_event_type: dict[str, str]

    def topic_for(self, event_type: str) -> str:
        return self.by_event_type[event_type]
