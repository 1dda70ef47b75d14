import uuid

import pytest
from pydantic import ValidationError

from shared import topics
from shared.events import (
    PUBLISHED,
    TOPIC_MAP,
    CaseDispatched,
    CaseEvent,
    CaseReport,
    Envelope,
    InboundReport,
    ProjectEvent,
    ProjectMemberEvent,
    ProjectPublished,
    TaskUrged,
    case_event_adapter,
    event_classes,
    event_id_for,
    event_type,
)
from tests.unit.factories import (
    CASE_ID,
    CORRELATION_ID,
    T0,
    make_claimed,
    make_closed,
    make_dispatched,
    make_escalated,
    make_registered,
    make_reopened,
    make_resolved,
    make_responded,
    make_returned,
)

EVENT_FACTORIES = [make_registered, make_dispatched, lambda: make_escalated(2), make_claimed, make_responded,
                   make_resolved, make_returned, make_reopened, make_closed]


def make_report(**overrides) -> dict:
    return {"source": "hotline", "description": "南后街12号楼下工地夜间施工，噪音很大", "citizen_name": "王女士",
            "citizen_phone": "13800000001", "grid_code": "G010101", **overrides}


class TestCaseEventAdapter:
    def test_dispatched_json_parses_back_to_its_class(self):
        event = make_dispatched(3, "B0202")

        parsed = case_event_adapter.validate_json(event.model_dump_json())

        assert type(parsed) is CaseDispatched
        assert parsed == event
        assert parsed.summary.description == "楼下装修噪音吵闹，晚上十点还在施工"

    @pytest.mark.parametrize("factory", EVENT_FACTORIES)
    def test_every_event_roundtrips(self, factory):
        event = factory()
        parsed = case_event_adapter.validate_json(event.model_dump_json())
        assert type(parsed) is type(event) and parsed == event

    def test_unknown_type_is_refused(self):
        payload = make_claimed().model_dump(mode="json") | {"type": "task.stolen"}
        with pytest.raises(ValidationError):
            case_event_adapter.validate_python(payload)

    def test_events_are_frozen(self):
        event = make_claimed()
        with pytest.raises(ValidationError):
            event.member_id = "M002"

    def test_every_event_type_has_a_topic(self):
        types = {event_type(cls) for cls in (*event_classes(CaseEvent), *event_classes(ProjectEvent))}
        assert types == set(TOPIC_MAP.by_event_type)

    def test_every_event_class_is_on_a_topic_and_parses(self):
        """Declaring an event class and naming it in its topic's union is all a new event type needs."""
        declared = set(Envelope.__subclasses__())
        assert declared == set(event_classes(CaseEvent))
        member_steps = set(ProjectMemberEvent.__subclasses__())
        assert {ProjectPublished, *member_steps} == set(event_classes(ProjectEvent))
        assert set(PUBLISHED) == set(topics.INTERNAL_TOPICS)

    def test_an_urge_goes_on_the_task_topic_and_roundtrips(self):
        urge = TaskUrged(event_id=event_id_for(CASE_ID, "urged#1", 1), occurred_at=T0, case_id=CASE_ID,
                         correlation_id=CORRELATION_ID, generation=1, branch_code="B0101", supervisor_id="U900",
                         note="请今天回电13800000001", urge_count=1)
        assert TOPIC_MAP.topic_for("task.urged") == topics.TASK_EVENTS
        assert urge.note == "请今天回电138****0001"
        assert case_event_adapter.validate_json(urge.model_dump_json()) == urge

    def test_a_reassignment_is_a_dispatch_with_who_and_why(self):
        event = make_dispatched(2, "B0102", reason="reassigned", reassigned_by="U900",
                                reassign_reason="原支部人手不足，请回电13800000001")
        parsed = case_event_adapter.validate_json(event.model_dump_json())
        assert type(parsed) is CaseDispatched and parsed.reassigned_by == "U900"
        assert parsed.reassign_reason == "原支部人手不足，请回电138****0001"


class TestEventIdFor:
    def test_is_deterministic(self):
        assert event_id_for(CASE_ID, "dispatched", 2) == event_id_for(CASE_ID, "dispatched", 2)
        assert event_id_for(CASE_ID, "dispatched", 2).version == 5

    def test_differs_by_kind_generation_and_case(self):
        ids = {
            event_id_for(CASE_ID, "dispatched", 1),
            event_id_for(CASE_ID, "dispatched", 2),
            event_id_for(CASE_ID, "escalated", 1),
            event_id_for(uuid.UUID(int=CASE_ID.int + 1), "dispatched", 1),
        }
        assert len(ids) == 4

    def test_generation_defaults_to_zero(self):
        assert event_id_for(CASE_ID, "registered") == event_id_for(CASE_ID, "registered", 0)


class TestCaseReport:
    def test_valid_report_is_stripped(self):
        report = CaseReport(**make_report(description="  西湖公园路灯不亮  "))
        assert report.description == "西湖公园路灯不亮"
        assert report.category is None and report.priority is None

    def test_description_of_exactly_4000_characters_is_accepted(self):
        assert len(CaseReport(**make_report(description="噪" * 4000)).description) == 4000

    @pytest.mark.parametrize("description", ["噪" * 4001, "", "   "])
    def test_description_too_long_or_empty_is_refused(self, description):
        with pytest.raises(ValidationError) as caught:
            CaseReport(**make_report(description=description))
        assert [e["loc"] for e in caught.value.errors()] == [("description",)]

    def test_unknown_field_is_refused(self):
        with pytest.raises(ValidationError) as caught:
            CaseReport(**make_report(urgency="很急"))
        assert caught.value.errors()[0]["loc"] == ("urgency",)

    @pytest.mark.parametrize("phone", ["请回电", "138", "13800000001x", "1" * 21, "138.0000.0001"])
    def test_bad_phone_is_refused(self, phone):
        with pytest.raises(ValidationError) as caught:
            CaseReport(**make_report(citizen_phone=phone))
        assert caught.value.errors()[0]["loc"] == ("citizen_phone",)

    @pytest.mark.parametrize("phone", ["13800000001", "+86 138-0000-0001", "0591-87654321"])
    def test_usual_phone_formats_are_accepted(self, phone):
        assert CaseReport(**make_report(citizen_phone=phone)).citizen_phone == phone

    @pytest.mark.parametrize("field", [{"source": "wechat"}, {"priority": "critical"}, {"lat": 91}, {"lon": -181}])
    def test_out_of_range_values_are_refused(self, field):
        with pytest.raises(ValidationError):
            CaseReport(**make_report(**field))

    def test_inbound_report_needs_the_external_id(self):
        with pytest.raises(ValidationError) as caught:
            InboundReport(**make_report())
        assert caught.value.errors()[0]["loc"] == ("external_id",)
        assert InboundReport(**make_report(external_id="RX20261121000123")).external_id == "RX20261121000123"
