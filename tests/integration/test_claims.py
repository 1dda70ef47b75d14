"""Exactly one member wins a task, however many press 接单 at once."""

import asyncio
from collections import Counter

import pytest

from shared import topics
from tests.integration.harness import caught_up, events, running_system, settings_for

pytestmark = pytest.mark.integration

CLAIMS_PER_MEMBER = 5


async def test_twenty_concurrent_claims_have_exactly_one_winner(kafka, tmp_path, database_url):
    async with running_system(settings_for(kafka.bootstrap, tmp_path, database_url=database_url)) as run:
        operator = await run.login("U100")
        case_id = (await run.register(operator))["case_id"]
        members = [m.id for m in run.system.context.district.community_by_branch["B0101"].members]
        assert len(members) == 4
        tokens = {member: await run.login(member) for member in members}

        async def on_board():
            response = await run.http.get("/api/branches/B0101/tasks", params={"status": "open"},
                                          headers=tokens["M001"])
            return any(t["case_id"] == case_id for t in response.json())

        await run.wait_for(on_board)

        async def claim(member: str) -> tuple[str, int]:
            response = await run.http.post(f"/api/tasks/{case_id}/claim", headers=tokens[member])
            return member, response.status_code

        attempts = [claim(member) for _ in range(CLAIMS_PER_MEMBER) for member in members]
        results = await asyncio.gather(*attempts)

        assert Counter(code for _, code in results) == {200: 1, 409: len(results) - 1}
        winner = next(member for member, code in results if code == 200)
        detail = await run.wait_case(case_id, operator, lambda c: c["status"] == "claimed")
        assert detail["member_id"] == winner
        board = (await run.http.get("/api/branches/B0101/tasks", params={"status": "claimed"},
                                    headers=tokens[winner])).json()
        assert [(t["case_id"], t["member_id"]) for t in board] == [(case_id, winner)]

        claim_service = run.system.service("claim")
        await run.wait_for(lambda: _drained(claim_service))
        await run.wait_for(lambda: caught_up(kafka.bootstrap, "appeal-intake-timeline", [topics.TASK_EVENTS]))
        detail = await run.case(case_id, operator)
        assert [e["member_id"] for e in events(detail, "task.claimed")] == [winner]


async def _drained(service) -> bool:
    return await service.relay.pending() == 0
