"""A member suspends the respond clock while the citizen cannot be reached (挂起): the
deadline passes without a breach (shown once a case claimed after it on the same terms,
not suspended, has breached and the clock's decisions have settled), a resume gives back
what was unused, and a suspension nobody resumes restarts the clock by itself when it
runs out."""

from datetime import datetime, timedelta

import pytest

from tests.integration.harness import Running, district_file, events, running_system, settings_for

pytestmark = pytest.mark.integration


async def claimed_case(run: Running) -> tuple[str, dict, dict]:
    operator, member = await run.login("U100"), await run.login("M001")
    case_id = (await run.register(operator, address=None, grid_code="G010101"))["case_id"]
    await run.wait_case(case_id, operator, lambda c: c["status"] == "dispatched")

    async def claimed():
        response = await run.http.post(f"/api/tasks/{case_id}/claim", headers=member)
        assert response.status_code in (200, 404), response.text  # 404 until claim has the dispatch
        return response.status_code == 200

    await run.wait_for(claimed)
    return case_id, operator, member


async def suspend(run: Running, case_id: str, member: dict, limit: str):
    return await run.http.post(f"/api/tasks/{case_id}/suspend", headers=member,
                               json={"reason": "诉求人电话无人接听，已短信告知", "limit": limit})


async def test_a_suspended_deadline_passes_without_breach_and_a_resume_restores_the_rest(
        kafka, tmp_path, database_url):
    district = district_file(tmp_path, accept="8s", respond="12s")
    settings = settings_for(kafka.bootstrap, tmp_path, district_file=district, database_url=database_url)
    async with running_system(settings) as run:
        case_id, operator, member = await claimed_case(run)
        control, _, _ = await claimed_case(run)
        before = await run.case(case_id, operator)
        original = datetime.fromisoformat(before["respond_deadline"])

        response = await suspend(run, case_id, member, "1h")
        assert response.status_code == 200, response.text
        task = response.json()
        assert datetime.fromisoformat(task["respond_deadline"]) == original + timedelta(hours=1)
        assert task["suspended_until"] and task["suspension_left_seconds"] == 23 * 3600
        assert (await suspend(run, case_id, member, "1h")).status_code == 409, "already suspended"
        assert (await suspend(run, case_id, await run.login("M002"), "1h")).status_code in (403, 409)
        assert (await suspend(run, case_id, member, "soon")).status_code == 422

        detail = await run.wait_case(case_id, operator, lambda c: c["suspended_until"])
        assert events(detail, "task.suspended", member_id="M001", suspended_seconds=3600.0)
        assert detail["status"] == "claimed" and detail["sla"]["suspension_count"] == 1

        # Claimed after it on the same terms and not suspended, the control case breaches after the original deadline.
        await run.wait_case(control, operator, lambda c: events(c, "sla.breached", stage="respond"), timeout=60)
        await run.deadline_settled(kafka.bootstrap)
        assert not events(await run.case(case_id, operator), "sla.breached"), "breached while suspended"

        resumed = await run.http.post(f"/api/tasks/{case_id}/resume", headers=member)
        assert resumed.status_code == 200, resumed.text
        new_deadline = datetime.fromisoformat(resumed.json()["respond_deadline"])
        assert original < new_deadline < original + timedelta(minutes=1)
        assert resumed.json()["suspended_until"] is not None
        assert (await run.http.post(f"/api/tasks/{case_id}/resume", headers=member)).status_code == 409

        detail = await run.wait_case(case_id, operator, lambda c: events(c, "sla.breached", stage="respond"))
        breach = events(detail, "sla.breached", stage="respond")[0]
        assert datetime.fromisoformat(breach["deadline"]) == new_deadline
        assert detail["respond_deadline"] == resumed.json()["respond_deadline"]
        assert detail["suspended_until"] is None and events(detail, "task.resumed")
        assert len(events(detail, "sla.breached")) == 1


async def test_a_suspension_nobody_resumes_restarts_the_clock_when_it_runs_out(kafka, tmp_path):
    district = district_file(tmp_path, accept="3s", respond="4s", suspend_limit="3s")
    async with running_system(settings_for(kafka.bootstrap, tmp_path, district_file=district)) as run:
        case_id, operator, member = await claimed_case(run)
        original = datetime.fromisoformat((await run.case(case_id, operator))["respond_deadline"])

        too_long = await suspend(run, case_id, member, "1h")
        assert too_long.status_code == 422 and "at most" in too_long.text
        response = await suspend(run, case_id, member, "2s")
        assert response.status_code == 200, response.text

        detail = await run.wait_case(case_id, operator, lambda c: events(c, "sla.breached", stage="respond"))
        breach = events(detail, "sla.breached", stage="respond")[0]
        assert datetime.fromisoformat(breach["deadline"]) == original + timedelta(seconds=2)
        assert (await run.http.post(f"/api/tasks/{case_id}/resume", headers=member)).status_code == 409
        assert (await suspend(run, case_id, member, "1s")).status_code == 409, "the deadline has passed"
