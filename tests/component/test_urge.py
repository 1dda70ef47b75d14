"""A supervisor urges the branch holding a task (督办), on SQLite and PostgreSQL, with the
services wired in memory: the board shows it, the timeline and the citizen's view follow,
and ``appeal_urges_total`` counts it per branch."""

import pytest

from tests.component.inmemory import Wired, cases_at, wired_system


async def urge(wired: Wired, case_id: str, who: str, body: dict | None = None):
    return await wired.api.http.post(f"/api/cases/{case_id}/urge", json=body,
                                     headers=await wired.api.login(who))


def urges_total(wired: Wired, branch: str) -> float | None:
    return wired.system.context.registry.get_sample_value("appeal_urges_total", {"branch": branch})


async def test_an_urge_shows_on_the_board_the_timeline_and_the_metric(tmp_path, database_url, clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        case_id, tracking_code = (await cases_at(wired, {"A": "claimed"}))["A"]
        assert urges_total(wired, "B0101") == urges_total(wired, "B0303") == 0, "every branch starts at zero"

        first = await urge(wired, case_id, "U900", {"note": "群众反映强烈，请今天回电13800000001"})
        assert first.status_code == 200, first.text
        assert (first.json()["urge_count"], first.json()["urge_note"]) == (1, "群众反映强烈，请今天回电138****0001")
        clock.advance(minutes=5)
        second = await urge(wired, case_id, "U800")
        assert second.status_code == 200, second.text
        await wired.deliver()

        [task] = (await wired.api.http.get("/api/branches/B0101/tasks", headers=await wired.api.login("M001"))).json()
        assert (task["case_id"], task["urge_count"], task["urge_note"]) == (case_id, 2, None)
        assert task["urged_at"].startswith(clock.now().isoformat()[:19])
        detail = (await wired.api.http.get(f"/api/cases/{case_id}", headers=await wired.api.login("U900"))).json()
        urged = [(e["supervisor_id"], e["urge_count"], e["note"], e["member_id"])
                 for e in detail["timeline"] if e["type"] == "task.urged"]
        assert urged == [("U900", 1, "群众反映强烈，请今天回电138****0001", "M001"), ("U800", 2, None, "M001")]
        assert detail["status"] == "claimed", "an urge moves no status"
        public = (await wired.api.http.get(f"/api/cases/{case_id}", params={"tracking_code": tracking_code})).json()
        assert [s["text"] for s in public["timeline"]].count("已督办，正在加快办理") == 2
        assert "U900" not in str(public) and "群众反映强烈" not in str(public)
        assert urges_total(wired, "B0101") == 2


async def test_a_new_dispatch_starts_without_urges(tmp_path, database_url, clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        case_id, _ = (await cases_at(wired, {"A": "claimed"}))["A"]
        assert (await urge(wired, case_id, "U900", {"note": "请尽快"})).status_code == 200
        returned = await wired.api.http.post(f"/api/tasks/{case_id}/return", json={"reason": "不属于本社区"},
                                             headers=await wired.api.login("M001"))
        assert returned.status_code == 200, returned.text
        await wired.deliver()
        [task] = (await wired.api.http.get("/api/branches/B0102/tasks", headers=await wired.api.login("U900"))).json()
        assert (task["case_id"], task["generation"], task["urge_count"], task["urged_at"]) == (case_id, 2, 0, None)


@pytest.mark.parametrize(("stage", "who", "status"), [
    ("dispatched", "U910", 403),
    ("dispatched", "M001", 403),
    ("dispatched", "U100", 403),
    ("resolved", "U900", 409),
    ("queued", "U900", 409),
    ("queued", "U910", 403),
])
async def test_refusals(tmp_path, database_url, clock, stage, who, status):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        if stage == "queued":
            created = await wired.api.http.post("/api/cases", headers=await wired.api.login("U100"), json={
                "source": "grid", "description": "路灯坏了一个星期没人修"})
            case_id = created.json()["case_id"]
            await wired.deliver()
        else:
            case_id, _ = (await cases_at(wired, {"A": stage}))["A"]
        response = await urge(wired, case_id, who, {"note": "请尽快"})
        assert response.status_code == status, response.text
        assert urges_total(wired, "B0101") == 0


async def test_an_unknown_case_is_404(tmp_path, database_url, clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        response = await urge(wired, "00000000-0000-4000-8000-000000000000", "U800")
        assert response.status_code == 404, response.text
