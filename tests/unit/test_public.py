"""The citizen's view of a reassignment (改派) and an urge (督办): plain words, nothing internal."""

from datetime import timedelta

from services.intake.caseview import timeline_details
from services.intake.public import TimelineFact, public_case
from shared.events import TaskUrged
from tests.unit.factories import CASE_ID, CORRELATION_ID, T0, make_dispatched, sample_district


def steps(*events) -> list[str]:
    facts = [TimelineFact(e.type, e.occurred_at, timeline_details(e)) for e in events]
    view = public_case(case_no="350102-20261121-000001", status="dispatched", category="noise", registered_at=T0,
                       facts=facts, district=sample_district())
    return [step.text for step in view.timeline]


def test_a_reassignment_reads_as_one_and_names_only_the_new_branch():
    reassigned = make_dispatched(2, "B0102", at=T0 + timedelta(minutes=30), reason="reassigned",
                                 reassigned_by="U900", reassign_reason="原支部人手不足")
    assert steps(make_dispatched(1), reassigned) == ["已派单至三坊七巷社区党支部", "已改派至虎节社区党支部"]


def test_an_urge_says_so_without_who_or_what():
    urge = TaskUrged(case_id=CASE_ID, correlation_id=CORRELATION_ID, occurred_at=T0 + timedelta(minutes=9),
                     generation=1, branch_code="B0101", supervisor_id="U900", note="再不办就通报", urge_count=1)
    [text] = steps(urge)
    assert text == "已督办，正在加快办理"
    assert "U900" not in text and "通报" not in text
