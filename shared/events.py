"""Every message on a topic: the inbound report and the internal case events.

Events are frozen pydantic models on one envelope. ``type`` is the discriminator, so a
topic's payload is a tagged union and a consumer parses it in one step. Event ids that a
retry could produce twice are derived with ``event_id_for`` (uuid5), so the consumer's
idempotency record catches the repeat.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from shared import topics
from shared.inputs import text_problem
from shared.privacy import mask_phones_in_text

EVENT_NAMESPACE = uuid.UUID("6f1f3a1e-8a2b-4c51-9a57-35e0d2a6c0de")

Source = Literal["hotline", "grid"]
Priority = Literal["normal", "urgent"]
DispatchReason = Literal["initial", "returned", "expired", "reopened", "reassigned"]


class SlaStage(StrEnum):
    """The two promises of the clock, both counted from dispatch."""

    ACCEPT = "accept"
    """A member claims the task (接单)."""
    RESPOND = "respond"
    """The member records first contact with the citizen."""



FreeText = Annotated[str, AfterValidator(mask_phones_in_text)]
"""Text people typed. Phone numbers in it are masked as the event is made, so no
service but intake (which keeps the report as filed, for operators) ever holds them."""


def event_id_for(case_id: uuid.UUID, kind: str, generation: int = 0) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"{case_id}:{kind}:{generation}")


class CaseReport(BaseModel):
    """A citizen's appeal as a hotline operator, a grid worker or an outside system files it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: Source = Field(description="Where the case came from.", examples=["hotline"])
    description: str = Field(
        min_length=1, max_length=4000, description="What the citizen reports.",
        examples=["南后街12号楼下工地夜间施工，噪音很大"],
    )
    citizen_name: str | None = Field(default=None, max_length=100, examples=["王女士"])
    citizen_phone: str | None = Field(
        default=None, pattern=r"^\+?[0-9 \-]{5,20}$", examples=["13800000001"]
    )
    grid_code: str | None = Field(default=None, max_length=32, examples=["G010101"])
    address: str | None = Field(default=None, max_length=500, examples=["南后街12号"])
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    category: str | None = Field(
        default=None, max_length=32, description="Category code; classified from keywords when absent."
    )
    priority: Priority | None = Field(default=None, description="Taken from the category when absent.")

    @field_validator("*")
    @classmethod
    def storable(cls, value: object) -> object:
        """What no store can keep (NUL, lone surrogates) is refused here too, so a report on
        the inbound topics is a dead letter on SQLite and PostgreSQL alike, as the form is a 422."""
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise ValueError(problem)
        return value


class InboundReport(CaseReport):
    """Value of ``appeal.inbound.hotline`` / ``appeal.inbound.grid``."""

    external_id: str = Field(
        min_length=1, max_length=64,
        description="The sender's own work-order number; the same id twice is one case.",
        examples=["RX20261121000123"],
    )


class Message(BaseModel):
    """What every internal event carries, whatever it is about; ``key`` is what it is
    published under, so one subject's events stay in order on one partition."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Idempotency key.")
    version: int = Field(default=1, description="Schema version of this event type.")
    occurred_at: datetime = Field(description="When the change was decided (UTC).")
    correlation_id: uuid.UUID = Field(description="Shared by every event one report (or one project) causes.")

    if TYPE_CHECKING:
        type: str
        """Each event class declares its own: the Literal that tags it in a topic's union."""

    @property
    def key(self) -> str:
        raise NotImplementedError


class Envelope(Message):
    """An event about a case."""

    case_id: uuid.UUID = Field(description="The case; also the Kafka key.")

    @property
    def key(self) -> str:
        return str(self.case_id)


class CaseSummary(BaseModel):
    """What a member needs to see of a case; the phone number is masked."""

    model_config = ConfigDict(frozen=True)

    case_no: str
    source: Source
    description: FreeText
    category: str
    priority: Priority
    address: FreeText | None = None
    grid_code: str | None = None
    citizen_name: FreeText | None = None
    citizen_phone_masked: str | None = None


class CaseRegistered(Envelope):
    type: Literal["case.registered"] = "case.registered"
    summary: CaseSummary
    external_id: str | None = None
    tracking_code_hash: str = Field(description="sha256 of the citizen's tracking code.")


class CaseDispatched(Envelope):
    type: Literal["case.dispatched"] = "case.dispatched"
    generation: int = Field(description="Counts dispatches of this case; fences stale work.")
    branch_code: str
    community_code: str
    street_code: str
    reason: DispatchReason
    accept_deadline: datetime
    respond_deadline: datetime
    warn_at: float = Field(description="Fraction of each deadline at which to warn.")
    suspend_limit_seconds: float = Field(
        default=86_400.0, description="How long in all the respond clock may be suspended (挂起) in this dispatch.")
    summary: CaseSummary
    reassigned_by: str | None = Field(
        default=None, description="For reason reassigned (改派): the supervisor or command center who handed it over.")
    reassign_reason: FreeText | None = Field(
        default=None, description="For reason reassigned: why, as they wrote it.", examples=["原支部人手不足"])


class CaseEscalated(Envelope):
    """No branch could take the case: it waits in the street's queue for a supervisor."""

    type: Literal["case.escalated"] = "case.escalated"
    generation: int
    street_code: str
    reason: str
    summary: CaseSummary


class TaskClaimed(Envelope):
    type: Literal["task.claimed"] = "task.claimed"
    generation: int
    branch_code: str
    member_id: str
    seconds_to_accept: float


class TaskResponded(Envelope):
    type: Literal["task.responded"] = "task.responded"
    generation: int
    branch_code: str
    member_id: str
    note: FreeText
    seconds_to_respond: float


class TaskResolved(Envelope):
    type: Literal["task.resolved"] = "task.resolved"
    generation: int
    branch_code: str
    member_id: str
    note: FreeText


class TaskReturned(Envelope):
    type: Literal["task.returned"] = "task.returned"
    generation: int
    branch_code: str
    member_id: str
    reason: FreeText


class TaskSuspended(Envelope):
    """The member stopped the respond clock (挂起): the citizen cannot be reached. The
    deadline moves by the whole suspension now, and comes back by what a resume leaves unused."""

    type: Literal["task.suspended"] = "task.suspended"
    generation: int
    branch_code: str
    member_id: str
    reason: FreeText
    until: datetime = Field(description="When the clock restarts by itself unless resumed earlier.")
    suspended_seconds: float = Field(description="Length of this suspension; the deadline moves by it.")
    respond_deadline: datetime = Field(description="The respond deadline if the clock restarts at `until`.")


class TaskResumed(Envelope):
    """The member restarted the respond clock before the suspension ran out."""

    type: Literal["task.resumed"] = "task.resumed"
    generation: int
    branch_code: str
    member_id: str
    suspended_seconds: float = Field(description="How long the clock actually stood still.")
    unused_seconds: float = Field(description="What was left of the suspension; the deadline moves back by it.")
    respond_deadline: datetime


class TaskUrged(Envelope):
    """A supervisor of the street, or the command center, urged the branch holding the
    task (督办). Urging repeats: ``urge_count`` tells the urges of one dispatch apart."""

    type: Literal["task.urged"] = "task.urged"
    generation: int
    branch_code: str
    member_id: str | None = Field(default=None, description="Who holds the task; none while it is unclaimed.")
    supervisor_id: str
    note: FreeText | None = None
    urge_count: int = Field(description="Urges of this dispatch so far, this one included.")


class TaskExpired(Envelope):
    """Nobody accepted in time; dispatch moves the case on."""

    type: Literal["task.expired"] = "task.expired"
    generation: int
    branch_code: str


class SlaWarning(Envelope):
    type: Literal["sla.warning"] = "sla.warning"
    generation: int
    stage: SlaStage
    branch_code: str
    deadline: datetime


class SlaExtended(Envelope):
    """A supervisor moved a deadline (延期)."""

    type: Literal["sla.extended"] = "sla.extended"
    generation: int
    stage: SlaStage
    branch_code: str
    deadline: datetime = Field(description="The new deadline.")
    extended_by_seconds: float
    reason: FreeText
    supervisor_id: str


class SlaDeadlineReached(Envelope):
    """A timer fell due. Whether it is a breach is the claim service's decision: the task
    row there is what a claim or a response races against."""

    type: Literal["sla.deadline_reached"] = "sla.deadline_reached"
    generation: int
    stage: SlaStage
    branch_code: str
    deadline: datetime


class SlaBreached(Envelope):
    """A deadline missed, confirmed against the task: never for a generation whose claim
    (or response) committed first."""

    type: Literal["sla.breached"] = "sla.breached"
    generation: int
    stage: SlaStage
    branch_code: str
    deadline: datetime


class SupervisorNotified(Envelope):
    """The street's supervisors must look at a case: its member missed the respond
    deadline, or it arrived in the street's queue (no branch accepted it in time, none was
    left after returns, or no community could be found). One event type, so whatever
    pages or messages supervisors listens to one topic."""

    type: Literal["supervisor.notified"] = "supervisor.notified"
    generation: int
    street_code: str
    branch_code: str = Field(description="The branch that held the case; empty if none did.")
    member_id: str | None = None
    reason: Literal["respond_breached", "street_queue"]
    escalation_reason: str | None = Field(
        default=None, description="For street_queue, why: initial, returned, expired or reopened.")


class FeedbackRecorded(Envelope):
    type: Literal["feedback.recorded"] = "feedback.recorded"
    generation: int
    branch_code: str
    rating: int = Field(ge=1, le=5)
    resolved: bool
    satisfied: bool
    comment: FreeText | None = None


class MemberEvaluated(Envelope):
    """The member's side of the two-way rating (双向评单)."""

    type: Literal["member.evaluated"] = "member.evaluated"
    generation: int
    member_id: str
    rating: int = Field(ge=1, le=5)
    comment: FreeText | None = None


class CaseClosed(Envelope):
    type: Literal["case.closed"] = "case.closed"
    generation: int


class CaseReopened(Envelope):
    type: Literal["case.reopened"] = "case.reopened"
    generation: int
    reason: FreeText


class ProjectEnvelope(Message):
    """An event about a volunteer service project (志愿服务项目)."""

    project_id: uuid.UUID = Field(description="The project; also the Kafka key.")

    @property
    def key(self) -> str:
        return str(self.project_id)


class ProjectPublished(ProjectEnvelope):
    """A branch secretary or a street supervisor published a project from the needs list
    (需求清单) in the project hall (服务大厅)."""

    type: Literal["project.published"] = "project.published"
    project_no: str = Field(description="What people read and say: XM, the local date, a sequence.",
                            examples=["XM20261205-003"])
    title: FreeText = Field(examples=["独居老人上门探访"])
    description: FreeText
    skills: list[str] = Field(description="Category codes of the skills wanted; members with them see it first.")
    place: FreeText = Field(examples=["三坊七巷社区服务站"])
    starts_at: datetime
    ends_at: datetime
    claim_cutoff: datetime = Field(description="Claims close, and a withdrawal no longer reopens the slot.")
    slots: int = Field(ge=1, description="How many members the project takes.")
    points: int = Field(ge=0, description="Points each member earns once the completion is confirmed.")
    street_code: str
    branch_code: str | None = Field(description="The publishing branch; none for a project of the whole street.")
    publisher_id: str
    series_id: uuid.UUID | None = Field(
        default=None, description="Shared by the occurrences of a recurring project (every Saturday morning…).")
    occurrence: int = Field(default=1, description="Which occurrence of its series, from 1.")
    case_ids: list[uuid.UUID] = Field(
        default=[], description="Appeals the project answers; each case's timeline links to it.")
    evaluation_code_hash: str = Field(description="sha256 of the code the residents served evaluate it with.")


class ProjectMemberEvent(ProjectEnvelope):
    """A member's step in a project; ``branch_code`` is the member's own branch."""

    member_id: str
    branch_code: str
    street_code: str


class ProjectSlotClaimed(ProjectMemberEvent):
    type: Literal["project.slot_claimed"] = "project.slot_claimed"
    filled: int = Field(description="Slots taken, this one included.")
    slots: int


class ProjectSlotWithdrawn(ProjectMemberEvent):
    """Before the cut-off the slot reopens; after it (``late``) it does not, and the
    district's ``points.late_withdrawal`` applies."""

    type: Literal["project.slot_withdrawn"] = "project.slot_withdrawn"
    filled: int = Field(description="Slots taken after this withdrawal.")
    late: bool


class ProjectCheckedIn(ProjectMemberEvent):
    type: Literal["project.checked_in"] = "project.checked_in"


class ProjectCheckedOut(ProjectMemberEvent):
    type: Literal["project.checked_out"] = "project.checked_out"


class ProjectReported(ProjectMemberEvent):
    type: Literal["project.reported"] = "project.reported"
    note: FreeText


class ProjectCompletionConfirmed(ProjectMemberEvent):
    """The secretary (or the street's supervisor) confirmed the member's completion: the
    points are credited from this, exactly once."""

    type: Literal["project.completion_confirmed"] = "project.completion_confirmed"
    points: int = Field(ge=0)
    confirmed_by: str


DispatchEvent = Annotated[CaseDispatched | CaseEscalated, Field(discriminator="type")]
TaskEvent = Annotated[
    TaskClaimed | TaskResponded | TaskResolved | TaskReturned | TaskSuspended | TaskResumed | TaskUrged
    | TaskExpired | SlaBreached | SupervisorNotified,
    Field(discriminator="type"),
]
SlaEvent = Annotated[SlaWarning | SlaDeadlineReached | SlaExtended, Field(discriminator="type")]
FeedbackEvent = Annotated[
    FeedbackRecorded | MemberEvaluated | CaseClosed | CaseReopened, Field(discriminator="type")
]
ProjectEvent = Annotated[
    ProjectPublished | ProjectSlotClaimed | ProjectSlotWithdrawn | ProjectCheckedIn | ProjectCheckedOut
    | ProjectReported | ProjectCompletionConfirmed,
    Field(discriminator="type"),
]
project_event_adapter: TypeAdapter[ProjectEvent] = TypeAdapter(ProjectEvent)
CaseEvent = Annotated[
    CaseRegistered | DispatchEvent | TaskEvent | SlaEvent | FeedbackEvent,
    Field(discriminator="type"),
]
"""Any internal event: the union of what every topic carries."""
case_event_adapter: TypeAdapter[CaseEvent] = TypeAdapter(CaseEvent)

PUBLISHED: dict[str, Any] = {
    topics.CASE_REGISTERED: CaseRegistered,
    topics.CASE_DISPATCH: DispatchEvent,
    topics.TASK_EVENTS: TaskEvent,
    topics.SLA_EVENTS: SlaEvent,
    topics.FEEDBACK_EVENTS: FeedbackEvent,
    topics.PROJECT_EVENTS: ProjectEvent,
}
"""Each internal topic and the events on it; a new event type goes into its topic's union above."""


def event_classes(schema: Any) -> tuple[type[Envelope], ...]:
    """The event classes of a topic's union (or of one class, or of ``CaseEvent``)."""
    if isinstance(schema, type):
        return (schema,)
    if get_origin(schema) is Annotated:
        return event_classes(get_args(schema)[0])
    return tuple(cls for member in get_args(schema) for cls in event_classes(member))


def event_type(cls: type[Envelope]) -> str:
    return cls.model_fields["type"].default


TOPIC_MAP = topics.TopicMap(
    by_event_type={event_type(cls): topic for topic, schema in PUBLISHED.items() for cls in event_classes(schema)}
)
