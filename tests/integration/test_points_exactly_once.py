"""Points exactly once, the whole way: members do volunteer projects through the claim
service, the secretary confirms their completions while the broker is cut off (the
confirmations commit with their outbox rows, nothing is published), the claim service is
SIGKILLed with those rows waiting, and after its restart the confirmations are published
and delivered again on top; the feedback service credits each once, so every member's
balance is the sum of their confirmed completions."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared import topics
from tests.integration.harness import caught_up, outbox_pending, publish, read_topic
from tests.integration.kafka_gate import gated_broker
from tests.integration.processes import ServiceProcess, appeal, deployment_env

pytestmark = pytest.mark.integration
PROJECTS = {"独居老人上门探访": (10, ["M002", "M003", "M004"]), "楼道环境清洁": (7, ["M002", "M003"])}
"""Title: (points, the members of B0101 who do it)."""
SECRETARY = "M001"


async def signed_in(http: httpx.AsyncClient, url: str, user_id: str) -> dict[str, str]:
    response = await http.post(f"{url}/api/auth/login", json={"user_id": user_id, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def until(probe, what: str, tries: int = 300) -> None:
    for _ in range(tries):
        if await probe():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never: {what}")


async def test_confirmations_cut_off_and_killed_in_the_outbox_are_credited_once(tmp_path, database_url):
    async with gated_broker(tmp_path / "broker.log") as gate:
        env = deployment_env(gate.bootstrap, database_url, tmp_path)
        assert appeal("db", "upgrade", env=env).returncode == 0
        claim = ServiceProcess("claim", env, tmp_path / "claim.log")
        feedback = ServiceProcess("feedback", env, tmp_path / "feedback.log")
        try:
            for service in (claim, feedback):
                service.start()
            for service in (claim, feedback):
                await service.until_ready()
            async with httpx.AsyncClient(base_url=claim.url, timeout=10) as http:
                people = {who: await signed_in(http, claim.url, who)
                          for who in {SECRETARY, *(m for _, members in PROJECTS.values() for m in members)}}
                done = await _projects_reported(http, people)

                gate.close()
                for project_id, members in done.items():
                    for member in members:
                        response = await http.post(f"/api/projects/{project_id}/members/{member}/confirm",
                                                   headers=people[SECRETARY])
                        assert response.status_code == 200, response.text
                completions = sum(len(members) for members in done.values())
                assert await outbox_pending(database_url, tmp_path, "claim") >= completions, \
                    "the confirmations wait in the outbox"
                claim.kill()
                assert await outbox_pending(database_url, tmp_path, "claim") >= completions

                gate.reopen()
                claim.start()
                await claim.until_ready()
                await until(lambda: _published(database_url, tmp_path), "claim's outbox published")
                confirmations = [r for r in await read_topic(gate.bootstrap, topics.PROJECT_EVENTS)
                                 if b"project.completion_confirmed" in r.value]
                assert len(confirmations) == completions
                for record in confirmations:  # delivered again, as a replay or a producer retry would
                    await publish(gate.bootstrap, topics.PROJECT_EVENTS, record.value, key=record.key)
                await until(lambda: caught_up(gate.bootstrap, "appeal-feedback", [topics.PROJECT_EVENTS]),
                            "feedback caught up")

            expected = {m: sum(points for points, members in PROJECTS.values() if m in members)
                        for _, members in PROJECTS.values() for m in members}
            async with httpx.AsyncClient(base_url=feedback.url, timeout=10) as http:
                supervisor = await signed_in(http, feedback.url, "U900")
                ledgers = {m: (await http.get(f"/api/points/members/{m}", headers=supervisor)).json()
                           for m in expected}
        finally:
            for service in (claim, feedback):
                service.stop()
    assert {m: ledger["balance"] for m, ledger in ledgers.items()} == expected
    assert all(sorted(e["reason"] for e in ledger["entries"]) == ["completion"] * len(
        [p for p, members in PROJECTS.values() if m in members]) for m, ledger in ledgers.items())
    assert claim.kills == 1


async def _projects_reported(http: httpx.AsyncClient, people: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Each project published by the secretary and done by its members up to their
    reports: claimed, checked in and out, reported."""
    now = datetime.now(UTC)
    done: dict[str, list[str]] = {}
    for title, (points, members) in PROJECTS.items():
        response = await http.post("/api/projects", headers=people[SECRETARY], json={
            "title": title, "description": "社区志愿服务", "place": "三坊七巷社区服务站", "slots": len(members),
            "points": points, "starts_at": (now + timedelta(minutes=30)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "claim_cutoff": (now + timedelta(minutes=20)).isoformat()})
        assert response.status_code == 201, response.text
        project_id = response.json()[0]["project_id"]
        for member in members:
            for step, body in (("claim", None), ("check-in", None), ("check-out", None),
                               ("report", {"note": "陪老人聊天一小时"})):
                answer = await http.post(f"/api/projects/{project_id}/{step}", headers=people[member], json=body)
                assert answer.status_code == 200, f"{member} {step}: {answer.text}"
        done[project_id] = members
    assert len({uuid.UUID(p) for p in done}) == len(PROJECTS)
    return done


async def _published(database_url: str, data_dir) -> bool:
    return await outbox_pending(database_url, data_dir, "claim") == 0
