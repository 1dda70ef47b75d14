"""Supervisors act on cases over the real broker: reassigning (改派) a case from the
street's queue, or one whose accept deadline is about to pass, makes a new dispatch on the
new branch's board with fresh deadlines; urging (督办) shows on the board, the timeline and
``/metrics``."""

from datetime import datetime

import pytest

from shared.clock import as_utc
from tests.integration.harness import district_file, events, running_system, settings_for

pytestmark = pytest.mark.integration
NOWHERE = {"address": None, "description": "路灯坏了一个星期没人修"}
"""Names no community: the case waits in the first street's queue (鼓东街道, S01)."""


def utc(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


async def test_reassign_a_queued_case_then_urge_its_new_branch(kafka, tmp_path, database_url):
    settings = settings_for(kafka.bootstrap, tmp_path, database_url=database_url)
    async with running_system(settings) as run:
        operator, supervisor = await run.login("U100"), await run.login("U900")
        member = await run.login("M005")
        case_id = (await run.register(operator, **NOWHERE))["case_id"]

        async def queued():
            queue = (await run.http.get("/api/branches/S01/tasks", headers=supervisor)).json()
            return [t for t in queue if t["case_id"] == case_id]

        await run.wait_for(queued)
        reassigned = await run.http.post(f"/api/cases/{case_id}/reassign", headers=supervisor,
                                         json={"branch_code": "B0102", "reason": "虎节社区离得近"})
        assert reassigned.status_code == 200, reassigned.text
        given = reassigned.json()
        assert (given["generation"], given["branch_code"]) == (2, "B0102")

        async def on_the_new_board():
            board = (await run.http.get("/api/branches/B0102/tasks", headers=member)).json()
            return [t for t in board if t["case_id"] == case_id and t["generation"] == 2]

        [task] = await run.wait_for(on_the_new_board)
        assert task["status"] == "open"
        assert (utc(task["accept_deadline"]), utc(task["respond_deadline"])) == \
            (utc(given["accept_deadline"]), utc(given["respond_deadline"]))
        assert await queued() == [], "the queued task is gone"
        detail = await run.wait_case(case_id, supervisor, lambda c: c["status"] == "dispatched")
        assert events(detail, "case.dispatched", generation=2, reason="reassigned", reassigned_by="U900",
                      reassign_reason="虎节社区离得近")
        assert utc(detail["accept_deadline"]) == utc(given["accept_deadline"])

        urged = await run.http.post(f"/api/cases/{case_id}/urge", headers=supervisor, json={"note": "请今天上门"})
        assert urged.status_code == 200, urged.text
        [task] = [t for t in (await run.http.get("/api/branches/B0102/tasks", headers=member)).json()
                  if t["case_id"] == case_id]
        assert (task["urge_count"], task["urge_note"]) == (1, "请今天上门") and task["urged_at"]
        detail = await run.wait_case(case_id, supervisor, lambda c: events(c, "task.urged"))
        assert events(detail, "task.urged", supervisor_id="U900", urge_count=1, branch_code="B0102",
                      note="请今天上门")
        metrics = (await run.http.get("/metrics")).text
        assert 'appeal_urges_total{branch="B0102"} 1.0' in metrics
        assert 'appeal_urges_total{branch="B0101"} 0.0' in metrics
        assert 'appeal_cases_reassigned_total{branch="B0102"} 1.0' in metrics


async def test_reassign_a_case_whose_accept_deadline_is_about_to_pass(kafka, tmp_path, database_url):
    district = district_file(tmp_path, accept="10s", respond="60s")
    settings = settings_for(kafka.bootstrap, tmp_path, district_file=district, database_url=database_url)
    async with running_system(settings) as run:
        operator, supervisor = await run.login("U100"), await run.login("U900")
        case_id = (await run.register(operator))["case_id"]
        await run.wait_case(case_id, operator, lambda c: c["status"] == "dispatched")

        async def reassign():
            return await run.http.post(f"/api/cases/{case_id}/reassign", headers=supervisor,
                                       json={"branch_code": "B0103"})

        assert (await reassign()).status_code == 409, "on time: nothing to reassign yet"

        async def once_warned():  # the warning at 0.8 of the accept time has to reach dispatch
            response = await reassign()
            assert response.status_code in (200, 409), response.text
            return response.status_code == 200 and response.json()

        given = await run.wait_for(once_warned, timeout=15)
        assert given["generation"] == 2
        member = await run.login("M009")

        async def claimed():
            return (await run.http.post(f"/api/tasks/{case_id}/claim", headers=member)).status_code == 200

        await run.wait_for(claimed)
        detail = await run.wait_case(case_id, operator, lambda c: c["status"] == "claimed")
        assert detail["branch_code"] == "B0103" and events(detail, "sla.warning", stage="accept")
        old_board = (await run.http.get("/api/branches/B0101/tasks", headers=await run.login("M001"))).json()
        assert all(t["case_id"] != case_id for t in old_board)
