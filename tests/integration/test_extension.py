"""A supervisor extends a running deadline (延期): the clock moves, the board and the
case follow, and the old deadline passes without a breach — shown once a case
dispatched after it on the same terms, and not extended, has breached and everything
the clock decided has settled."""

from datetime import datetime

import pytest

from tests.integration.harness import district_file, events, running_system, settings_for

pytestmark = pytest.mark.integration


async def test_an_extended_accept_deadline_does_not_breach_at_the_old_time(kafka, tmp_path, database_url):
    district = district_file(tmp_path, accept="8s", respond="60s")
    settings = settings_for(kafka.bootstrap, tmp_path, district_file=district, database_url=database_url)
    async with running_system(settings) as run:
        operator = await run.login("U100")
        case_id = (await run.register(operator, address=None, grid_code="G010101"))["case_id"]
        before = await run.wait_case(case_id, operator, lambda c: c["status"] == "dispatched")
        control = (await run.register(operator, address=None, grid_code="G010101"))["case_id"]

        async def extend(user: str, **body):
            headers = await run.login(user)
            payload = {"stage": "accept", "extend_by": "1h", "reason": "诉求人出差，约定下周上门", **body}
            return await run.http.post(f"/api/cases/{case_id}/extension", json=payload, headers=headers)

        async def extended():
            response = await extend("U900")
            assert response.status_code in (200, 404), response.text  # 404 until sla has the dispatch
            return response.status_code == 200 and response.json()

        granted = await run.wait_for(extended)
        assert (await extend("U910")).status_code == 403, "a supervisor of another street"
        assert (await extend("U900", extend_by="soon")).status_code == 422
        assert (await run.http.post(f"/api/cases/{case_id}/extension", json={
            "stage": "accept", "extend_by": "1h", "reason": "x"}, headers=operator)).status_code == 403

        detail = await run.wait_case(case_id, operator, lambda c: events(c, "sla.extended"))
        old = datetime.fromisoformat(before["accept_deadline"])
        new = datetime.fromisoformat(detail["accept_deadline"])
        assert new == datetime.fromisoformat(granted["deadline"])
        assert round((new - old).total_seconds()) == 3600
        assert events(detail, "sla.extended", stage="accept", supervisor_id="U900", extended_by_seconds=3600.0)
        assert detail["sla"]["extension_count"] == 1

        await run.wait_case(control, operator, lambda c: events(c, "sla.breached", stage="accept"), timeout=60)
        await run.deadline_settled(kafka.bootstrap)
        detail = await run.case(case_id, operator)
        assert not events(detail, "sla.breached") and detail["status"] == "dispatched"
        member = await run.login("M001")

        async def board_moved():
            board = (await run.http.get("/api/branches/B0101/tasks", headers=member)).json()
            return any(t["case_id"] == case_id and datetime.fromisoformat(t["accept_deadline"]) == new
                       for t in board)

        await run.wait_for(board_moved)
        assert (await run.http.post(f"/api/tasks/{case_id}/claim", headers=member)).status_code == 200

        async def refused_once_claimed():
            return (await extend("U900")).status_code == 409

        await run.wait_for(refused_once_claimed)
