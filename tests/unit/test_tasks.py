import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.claim.tasks import CLAIM, RESOLVE, RESPOND, RETURN, TaskStatus, check
from shared.auth import Identity
from shared.errors import Refused

ZHANG_WEI = Identity("M001", "张伟", "member", "B0101")
LIN_XIUYING = Identity("M002", "林秀英", "member", "B0101")
ZHENG_JIANHUA = Identity("M005", "郑建华", "member", "B0102")
DIRECTOR_LIN = Identity("U900", "林主任", "supervisor", "S01")
OPERATOR_CHEN = Identity("U100", "话务员小陈", "operator", None)


def refusal(move, who, task_status, holder, branch="B0101") -> Refused:
    with pytest.raises(Refused) as caught:
        check(move, who, branch, task_status, holder)
    return caught.value


@pytest.mark.parametrize("who", [ZHENG_JIANHUA, DIRECTOR_LIN, OPERATOR_CHEN], ids=["other-branch", "supervisor",
                                                                                 "operator"])
def test_only_members_of_the_branch_may_claim(who):
    assert refusal(CLAIM, who, "open", None).status == 403


def test_claim_of_an_open_task_by_a_branch_member_is_allowed():
    assert check(CLAIM, ZHANG_WEI, "B0101", "open", None) is None


@pytest.mark.parametrize("task_status", ["claimed", "responded"])
def test_claim_of_a_held_task_is_a_conflict_naming_the_holder(task_status):
    refused = refusal(CLAIM, LIN_XIUYING, task_status, "M001")

    assert refused.status == 409
    assert "M001" in refused.reason


def test_respond_by_someone_other_than_the_holder_is_a_conflict():
    refused = refusal(RESPOND, LIN_XIUYING, "claimed", "M001")

    assert refused.status == 409
    assert "M001" in refused.reason


def test_respond_by_the_holder_is_allowed():
    assert check(RESPOND, ZHANG_WEI, "B0101", "claimed", "M001") is None


def test_respond_to_an_unclaimed_task_is_a_conflict():
    refused = refusal(RESPOND, ZHANG_WEI, "open", None)
    assert refused.status == 409
    assert "open" in refused.reason


@pytest.mark.parametrize("task_status", ["claimed", "responded"])
def test_resolve_by_the_holder_is_allowed(task_status):
    assert check(RESOLVE, ZHANG_WEI, "B0101", task_status, "M001") is None


def test_resolve_by_another_member_is_a_conflict():
    assert refusal(RESOLVE, LIN_XIUYING, "responded", "M001").status == 409


@pytest.mark.parametrize("task_status", ["resolved", "returned", "expired", "escalated"])
def test_finished_tasks_cannot_be_resolved_again(task_status):
    assert refusal(RESOLVE, ZHANG_WEI, task_status, "M001").status == 409


def test_return_of_an_open_task_by_a_branch_member_is_allowed():
    assert check(RETURN, LIN_XIUYING, "B0101", "open", None) is None


def test_return_by_the_holder_is_allowed():
    assert check(RETURN, ZHANG_WEI, "B0101", "claimed", "M001") is None


def test_return_of_someone_elses_claimed_task_is_a_conflict():
    assert refusal(RETURN, LIN_XIUYING, "claimed", "M001").status == 409


def test_a_task_without_a_branch_refuses_everyone():
    assert refusal(CLAIM, ZHANG_WEI, "open", None, branch=None).status == 403


@given(
    move=st.sampled_from([CLAIM, RESPOND, RESOLVE, RETURN]),
    who=st.sampled_from([ZHENG_JIANHUA, DIRECTOR_LIN, OPERATOR_CHEN]),
    task_status=st.sampled_from(TaskStatus),
    holder=st.sampled_from([None, "M001", "M002", "M005"]),
)
def test_outsiders_are_always_forbidden(move, who, task_status, holder):
    with pytest.raises(Refused) as caught:
        check(move, who, "B0101", task_status, holder)
    assert caught.value.status == 403


@given(
    move=st.sampled_from([CLAIM, RESPOND, RESOLVE, RETURN]),
    task_status=st.sampled_from(TaskStatus),
    holder=st.sampled_from([None, "M001", "M002"]),
)
def test_an_allowed_move_starts_from_one_of_its_statuses(move, task_status, holder):
    try:
        check(move, ZHANG_WEI, "B0101", task_status, holder)
    except Refused as refused:
        assert refused.status == 409
    else:
        assert task_status in move.from_statuses
        if move.holder_only or task_status != "open":
            assert holder in (None, "M001")
