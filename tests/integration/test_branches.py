"""The loop's side roads: a returned task, a dissatisfied citizen, a task nobody takes in
time and a member who never calls back."""

from datetime import datetime

import pytest

from tests.integration.harness import Running, district_file, events, running_system, settings_for

pytestmark = pytest.mark.integration


def members_of(run: Running, branch_code: str) -> list[str]:
    return [m.id for m in run.system.context.district.community_by_branch[branch_code].members]


def street_of(run: Running, branch_code: str) -> str:
    district = run.system.context.district
    return district.street_of_community[district.community_by_branch[branch_code].code].code


async def claim_when_ready(run: Running, case_id: str, member: dict[str, str]) -> dict:
    """Claim as soon as the claim service has the task for this member's branch."""

    async def claimed():
        response = await run.http.post(f"/api/tasks/{case_id}/claim", headers=member)
        assert response.status_code in (200, 403, 404), response.text
        return response.status_code == 200 and response.json()

    return await run.wait_for(claimed)


async def test_returned_task_is_dispatched_to_another_branch_of_the_street(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        case_id = (await run.register(operator))["case_id"]
        await run.wait_case(case_id, operator, lambda c: c["status"] == "dispatched")
        zhang = await run.login("M001")
        assert (await claim_when_ready(run, case_id, zhang))["branch_code"] == "B0101"

        returned = await run.http.post(f"/api/tasks/{case_id}/return", json={"reason": "不属于本社区辖区"},
                                       headers=zhang)
        assert returned.status_code == 200, returned.text
        assert returned.json()["status"] == "returned"

        detail = await run.wait_case(case_id, operator, lambda c: len(events(c, "case.dispatched")) == 2
                                     and c["status"] == "dispatched" and events(c, "task.returned"))
        new_branch = detail["branch_code"]
        assert new_branch not in (None, "B0101")
        assert street_of(run, new_branch) == street_of(run, "B0101") == detail["street_code"]
        assert detail["member_id"] is None
        assert events(detail, "task.returned", generation=1, branch_code="B0101", member_id="M001",
                      reason="不属于本社区辖区")
        assert events(detail, "case.dispatched", generation=2, branch_code=new_branch, reason="returned")

        async def moved_to_new_branch():
            return (await run.http.post(f"/api/tasks/{case_id}/claim", headers=zhang)).status_code == 403

        await run.wait_for(moved_to_new_branch)
        newcomer_id = members_of(run, new_branch)[0]
        newcomer = await run.login(newcomer_id)
        task = await claim_when_ready(run, case_id, newcomer)
        assert (task["generation"], task["branch_code"], task["member_id"]) == (2, new_branch, newcomer_id)
        await run.wait_case(case_id, operator, lambda c: c["status"] == "claimed" and c["member_id"] == newcomer_id)


@pytest.mark.parametrize(("rating", "resolved"), [(2, True), (5, False)], ids=["low-rating", "not-resolved"])
async def test_dissatisfied_citizen_reopens_the_case(kafka, tmp_path, rating, resolved):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        created = await run.register(operator)
        case_id = created["case_id"]
        await run.wait_case(case_id, operator, lambda c: c["status"] == "dispatched")
        zhang = await run.login("M001")
        await claim_when_ready(run, case_id, zhang)
        for move, body in (("respond", {"note": "已电话联系王女士"}), ("resolve", {"note": "已协调停工"})):
            response = await run.http.post(f"/api/tasks/{case_id}/{move}", json=body, headers=zhang)
            assert response.status_code == 200, response.text

        async def rated():
            response = await run.http.post(f"/api/cases/{case_id}/feedback", json={
                "tracking_code": created["tracking_code"], "rating": rating, "resolved": resolved,
                "comment": "问题依旧"})
            assert response.status_code in (200, 409), response.text
            return response.status_code == 200 and response.json()

        outcome = await run.wait_for(rated)
        assert (outcome["status"], outcome["satisfied"]) == ("reopened", False)

        # The timeline reads several topics, so the reopening and the new dispatch may land in either order.
        detail = await run.wait_case(case_id, operator, lambda c: c["status"] == "dispatched"
                                     and events(c, "case.dispatched", generation=2) and events(c, "case.reopened"))
        assert events(detail, "feedback.recorded", generation=1, rating=rating, resolved=resolved, satisfied=False)
        assert len(events(detail, "case.reopened", generation=1)) == 1
        assert events(detail, "case.dispatched", generation=2, reason="reopened", branch_code="B0101")
        assert not events(detail, "case.closed")
        task = await claim_when_ready(run, case_id, zhang)
        assert (task["generation"], task["member_id"]) == (2, "M001")


async def test_unclaimed_task_breaches_and_moves_to_the_next_branch(kafka, tmp_path):
    district = district_file(tmp_path, accept="2s", respond="6s")
    async with running_system(settings_for(kafka.bootstrap, tmp_path, district_file=district)) as run:
        operator = await run.login("U100")
        case_id = (await run.register(operator, address=None, grid_code="G010101"))["case_id"]
        detail = await run.wait_case(case_id, operator, lambda c: all(
            events(c, kind, generation=g) for kind, g in (("case.dispatched", 2), ("sla.breached", 1),
                                                          ("task.expired", 1))))

        assert events(detail, "case.dispatched", generation=1, branch_code="B0101", reason="initial")
        warning = events(detail, "sla.warning", generation=1, stage="accept", branch_code="B0101")
        breach = events(detail, "sla.breached", generation=1, stage="accept", branch_code="B0101")
        expiry = events(detail, "task.expired", generation=1, branch_code="B0101")
        moved = events(detail, "case.dispatched", generation=2, reason="expired", branch_code="B0102")
        assert len(warning) == len(breach) == len(expiry) == len(moved) == 1
        moments = [datetime.fromisoformat(e[0]["at"]) for e in (warning, breach, expiry, moved)]
        assert moments == sorted(moments) and moments[0] < moments[1]
        assert not events(detail, "sla.breached", stage="respond")

        hu = await run.login(members_of(run, "B0102")[0])
        task = await claim_when_ready(run, case_id, hu)
        assert (task["generation"], task["branch_code"]) == (2, "B0102")


@pytest.mark.parametrize("loops", [0, 1])
async def test_case_nobody_claims_ends_in_the_street_queue(kafka, tmp_path, loops):
    district = district_file(tmp_path, accept="2s", respond="6s", escalation_loops=loops)
    async with running_system(settings_for(kafka.bootstrap, tmp_path, district_file=district)) as run:
        operator = await run.login("U100")
        case_id = (await run.register(operator))["case_id"]
        detail = await run.wait_case(case_id, operator, lambda c: c["status"] == "escalated"
                                     and len(events(c, "task.expired")) == loops + 1)

        expiries = events(detail, "task.expired")
        assert [e["branch_code"] for e in expiries] == ["B0101", "B0102"][: loops + 1]
        assert [e["generation"] for e in events(detail, "case.dispatched")] == list(range(1, loops + 2))
        assert events(detail, "case.escalated", generation=loops + 2, street_code="S01")
        assert (detail["branch_code"], detail["street_code"], detail["member_id"]) == (None, "S01", None)

        supervisor = await run.login("U900")

        async def queued():
            response = await run.http.get("/api/branches/S01/tasks", params={"status": "escalated"},
                                          headers=supervisor)
            assert response.status_code == 200, response.text
            return [t for t in response.json() if t["case_id"] == case_id]

        assert (await run.wait_for(queued))[0]["generation"] == loops + 2
        notified = await run.wait_case(case_id, operator, lambda c: events(c, "supervisor.notified"))
        last_branch = ["B0101", "B0102"][loops]
        assert events(notified, "supervisor.notified", reason="street_queue", escalation_reason="expired",
                      street_code="S01", branch_code=last_branch, generation=loops + 2)


async def test_respond_breach_leaves_the_case_with_its_member(kafka, tmp_path):
    # Time enough for the claim to beat the accept deadline on a loaded machine: the test is about the respond one.
    district = district_file(tmp_path, accept="8s", respond="9s")
    async with running_system(settings_for(kafka.bootstrap, tmp_path, district_file=district)) as run:
        operator = await run.login("U100")
        zhang = await run.login("M001")
        case_id = (await run.register(operator))["case_id"]
        await claim_when_ready(run, case_id, zhang)

        detail = await run.wait_case(case_id, operator, lambda c: events(c, "sla.breached", stage="respond"))
        assert (detail["status"], detail["member_id"], detail["branch_code"]) == ("claimed", "M001", "B0101")
        assert len(events(detail, "sla.breached", stage="respond", generation=1, branch_code="B0101")) == 1
        assert not events(detail, "sla.breached", stage="accept")
        assert not events(detail, "task.expired")
        assert len(events(detail, "case.dispatched")) == 1
        notified = await run.wait_case(case_id, operator, lambda c: events(c, "supervisor.notified"))
        assert events(notified, "supervisor.notified", reason="respond_breached", street_code="S01",
                      member_id="M001", generation=1)

        async def flagged():
            response = await run.http.get("/api/branches/B0101/tasks", headers=zhang)
            assert response.status_code == 200, response.text
            return [t for t in response.json() if t["case_id"] == case_id and t["warning"] == "respond_breached"]

        task = (await run.wait_for(flagged))[0]
        assert (task["status"], task["member_id"]) == ("claimed", "M001")
        responded = await run.http.post(f"/api/tasks/{case_id}/respond", json={"note": "迟到的回访"}, headers=zhang)
        assert responded.status_code == 200, responded.text
