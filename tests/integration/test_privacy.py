"""Phone numbers typed anywhere reach nobody but operators; citizens see their own case
in plain words and nothing internal; supervisors see their own street."""

import re
from pathlib import Path

import pytest

from tests.integration.harness import Running, running_system, settings_for

pytestmark = pytest.mark.integration

NUMBERS = ("13800000001", "13912345678", "13722223333", "13644445555", "15966667777", "18877778888",
           "17755556666")
SERVICES_WITHOUT_FULL_NUMBERS = ("dispatch", "claim", "sla", "feedback")


def leaked(text: str | bytes) -> list[str]:
    """The full numbers in ``text`` however they were spaced or dashed."""
    plain = text if isinstance(text, str) else text.decode("utf-8", "replace")
    squeezed = re.sub(r"[\s\-+]", "", plain)
    return [n for n in NUMBERS if n in squeezed]


async def register_with_numbers_everywhere(run: Running, operator: dict[str, str]) -> dict[str, str]:
    return await run.register(operator, description="南后街12号楼下施工噪音，请回电 139 1234 5678",
                              address="南后街12号，门卫电话+86-137-2222-3333", citizen_name="王女士13644445555",
                              citizen_phone="13800000001")


async def test_phone_numbers_in_free_text_reach_only_operators(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator, member, supervisor = await run.login("U100"), await run.login("M001"), await run.login("U900")
        created = await register_with_numbers_everywhere(run, operator)
        case_id = created["case_id"]
        board = await run.wait_for(lambda: _board_with(run, case_id, member))
        assert leaked(board) == []
        await claim_when_on_the_board(run, case_id, member)
        responded = await run.http.post(f"/api/tasks/{case_id}/respond", headers=member,
                                        json={"note": "已联系，备用电话159-6666-7777"})
        assert responded.status_code == 200 and leaked(responded.text) == []
        resolved = await run.http.post(f"/api/tasks/{case_id}/resolve", headers=member,
                                       json={"note": "已处理完毕，有问题请拨18877778888"})
        assert resolved.status_code == 200 and leaked(resolved.text) == []
        await run.wait_case(case_id, operator, lambda c: c["status"] == "resolved")

        async def rated():
            response = await run.http.post(f"/api/cases/{case_id}/feedback", json={
                "tracking_code": created["tracking_code"], "rating": 5, "resolved": True,
                "comment": "谢谢，我的新号码17755556666"})
            assert response.status_code == 200, response.text
            return response

        await run.wait_for(rated)
        closed = await run.wait_case(case_id, operator, lambda c: c["status"] == "closed")

        as_filed = await run.http.get(f"/api/cases/{case_id}", headers=operator)
        assert {"13912345678", "13722223333", "13644445555", "13800000001"} <= set(leaked(as_filed.text))
        assert closed["tracking_code"] == created["tracking_code"]
        for who in (member, supervisor, await run.login("U800")):
            view = await run.http.get(f"/api/cases/{case_id}", headers=who)
            assert view.status_code == 200, view.text
            assert leaked(view.text) == [], view.text
            assert view.json()["tracking_code"] is None
            assert "139 **** 5678" in view.json()["description"]
        await run.wait_for(lambda: _all_drained(run))
        for service in SERVICES_WITHOUT_FULL_NUMBERS:
            stored = b"".join(path.read_bytes() for path in Path(tmp_path).glob(f"{service}.db*"))
            assert stored and leaked(stored) == [], f"{service} stored a full phone number"


async def test_the_citizen_sees_plain_words_and_nothing_internal(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator, member = await run.login("U100"), await run.login("M001")
        created = await register_with_numbers_everywhere(run, operator)
        case_id, code = created["case_id"], created["tracking_code"]
        await claim_when_on_the_board(run, case_id, member)
        await run.http.post(f"/api/tasks/{case_id}/respond", headers=member, json={"note": "内部备注：诉求人情绪激动"})
        await run.http.post(f"/api/tasks/{case_id}/resolve", headers=member,
                            json={"note": "施工单位已承诺夜间停工，有问题请拨18877778888"})
        await run.wait_case(case_id, operator, lambda c: c["status"] == "resolved")

        mine = await run.http.get(f"/api/cases/{case_id}", params={"tracking_code": code.lower()})
        assert mine.status_code == 200, mine.text
        view = mine.json()
        assert view["case_no"] == created["case_no"] and view["status_text"] == "已办结" and view["can_rate"]
        assert view["resolution"] == "施工单位已承诺夜间停工，有问题请拨188****8888"
        texts = [step["text"] for step in view["timeline"]]
        assert texts[:3] == ["诉求已受理", "已派单至三坊七巷社区党支部", "党员已接单"]
        assert "已办结，请您评价" in texts
        for internal in ("M001", "member_id", "tracking_code_hash", "内部备注", "accept_deadline", "sla.warning"):
            assert internal not in mine.text, internal
        assert leaked(mine.text) == []
        assert (await run.http.get(f"/api/cases/{case_id}", params={"tracking_code": "WRONGCODE1"})).status_code == 401


async def test_supervisors_read_their_own_street_and_the_command_center_all(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        case_id = (await run.register(operator))["case_id"]
        await run.wait_case(case_id, operator, lambda c: c["status"] == "dispatched")
        own, other, center = await run.login("U900"), await run.login("U910"), await run.login("U800")

        assert (await run.http.get(f"/api/cases/{case_id}", headers=own)).status_code == 200
        assert (await run.http.get(f"/api/cases/{case_id}", headers=other)).status_code == 403
        assert (await run.http.get(f"/api/cases/{case_id}", headers=center)).status_code == 200
        listed = {name: (await run.http.get("/api/cases", headers=who)).json()["total"]
                  for name, who in (("own", own), ("other", other), ("center", center))}
        assert listed == {"own": 1, "other": 0, "center": 1}
        assert (await run.http.get("/api/branches/B0101/tasks", headers=own)).status_code == 200
        assert (await run.http.get("/api/branches/B0101/tasks", headers=other)).status_code == 403
        assert (await run.http.get("/api/branches/S01/tasks", headers=other)).status_code == 403
        assert (await run.http.get("/api/branches/B0101/tasks", headers=center)).status_code == 200


async def claim_when_on_the_board(run: Running, case_id: str, member: dict[str, str]) -> None:
    async def claimed():
        return (await run.http.post(f"/api/tasks/{case_id}/claim", headers=member)).status_code == 200

    await run.wait_for(claimed)


async def _board_with(run: Running, case_id: str, member: dict[str, str]) -> str | None:
    board = await run.http.get("/api/branches/B0101/tasks", headers=member)
    assert board.status_code == 200, board.text
    return board.text if case_id in board.text else None


async def _all_drained(run: Running) -> bool:
    return all([await service.relay.pending() == 0 for service in run.system.services])
