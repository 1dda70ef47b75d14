"""SIGKILL the feedback service while it credits a stream of project confirmations (with
duplicates) from the real broker; after a restart every member's balance, read through
the API, is exactly the sum of their confirmed completions — nothing lost, nothing twice."""

import asyncio
import random
import uuid

import httpx
import pytest

from shared import topics
from shared.events import Message
from tests.integration.harness import caught_up, publish
from tests.integration.processes import ServiceProcess, appeal, deployment_env
from tests.unit.project_factories import make_confirmed, make_published

pytestmark = pytest.mark.integration
PROJECTS = 40
MEMBERS = {f"M{n:03d}": f"B010{(n - 1) // 4 + 1}" for n in range(1, 13)}
"""The members of street S01's three branches."""


async def send(bootstrap: str, events: list[Message]) -> None:
    for event in events:
        await publish(bootstrap, topics.PROJECT_EVENTS, event.model_dump_json().encode(), key=event.key.encode())


async def balances(http: httpx.AsyncClient, url: str) -> dict[str, int]:
    login = await http.post(f"{url}/api/auth/login", json={"user_id": "U900", "password": "demo"})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    got = {}
    for member in MEMBERS:
        response = await http.get(f"{url}/api/points/members/{member}", headers=headers)
        assert response.status_code == 200, response.text
        got[member] = response.json()["balance"]
    return got


async def test_sigkill_while_crediting_then_restart_credits_each_completion_once(kafka, tmp_path, database_url):
    rng = random.Random(1205)
    env = deployment_env(kafka.bootstrap, database_url, tmp_path)
    assert appeal("db", "upgrade", env=env).returncode == 0
    feedback = ServiceProcess("feedback", env, tmp_path / "feedback.log")
    projects = [uuid.UUID(int=0xF000 + n) for n in range(PROJECTS)]
    confirmed = {(p, m): rng.randint(1, 30) for p in projects for m in MEMBERS if rng.random() < 0.5}
    events: list[Message] = []
    for n, project in enumerate(projects):
        events.append(make_published(project_id=project, project_no=f"XM20261121-{n:03d}"))
        events += [make_confirmed(m, MEMBERS[m], project_id=project, points=points)
                   for (p, m), points in confirmed.items() if p == project]
    events += rng.sample(events, len(events) // 4)  # delivered twice
    first, rest = events[:len(events) // 2], events[len(events) // 2:]
    try:
        feedback.start()
        await feedback.until_ready()
        async with httpx.AsyncClient(timeout=10) as http:
            await send(kafka.bootstrap, first)
            sending = asyncio.create_task(send(kafka.bootstrap, rest))
            for _ in range(300):
                if sum((await balances(http, feedback.url)).values()) > 0:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("feedback credited nothing")
            feedback.kill()  # mid-stream: the rest is still being published
            await sending
            await send(kafka.bootstrap, rng.sample(events, 30))  # and some again, while it is down

            feedback.start()
            await feedback.until_ready()
            for _ in range(300):
                if await caught_up(kafka.bootstrap, "appeal-feedback", [topics.PROJECT_EVENTS]):
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("feedback did not catch up after its restart")
            expected = {m: sum(points for (_, who), points in confirmed.items() if who == m) for m in MEMBERS}
            assert await balances(http, feedback.url) == expected
    finally:
        feedback.stop()
    assert feedback.kills == 1
