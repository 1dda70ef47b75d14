"""Every service killed with SIGKILL in turn, mid-stream, under steady load, each its own
`appeal run` process on PostgreSQL: every case still reaches its next state exactly once."""

import asyncio
import contextlib
import json
import random

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.system import SERVICE_NAMES
from shared import topics
from shared.db import scratch_postgres
from shared.district import load_district
from tests.conftest import POSTGRES_URL
from tests.integration.harness import CONSUMERS, caught_up, district_file, report
from tests.integration.processes import appeal, deployment, deployment_env

pytestmark = [pytest.mark.integration, pytest.mark.soak]

REPORTS_PER_SECOND = 5
KILL_EVERY_SECONDS = 6.0


class Reporter:
    """The hotline platform and the grid app pushing reports at a steady rate."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.sent: list[str] = []

    async def run(self, stop: asyncio.Event) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            while not stop.is_set():
                n = len(self.sent)
                external_id = f"CRASH-{n:05d}"
                topic = topics.INBOUND_HOTLINE if n % 2 else topics.INBOUND_GRID
                await producer.send_and_wait(topic, report(external_id, source="grid" if n % 2 == 0 else "hotline"),
                                             key=external_id.encode())
                self.sent.append(external_id)
                await asyncio.sleep(1 / REPORTS_PER_SECOND)
        finally:
            await producer.stop()


async def members_at_work(claim_url: str, stop: asyncio.Event, rng: random.Random) -> None:
    """Every branch's members claim, respond to and resolve what is on their board; a
    request to a service that is down simply fails and is tried on the next round."""
    district = load_district()
    async with httpx.AsyncClient(base_url=claim_url, timeout=5) as http:
        logins: dict[str, dict[str, str]] = {}
        while not stop.is_set():
            for community in district.communities:
                member = community.members[0]
                with contextlib.suppress(httpx.HTTPError, KeyError):
                    if member.id not in logins:
                        token = (await http.post("/api/auth/login", json={"user_id": member.id, "password": "demo"}))
                        logins[member.id] = {"Authorization": f"Bearer {token.json()['access_token']}"}
                    who = logins[member.id]
                    board = (await http.get(f"/api/branches/{community.branch.code}/tasks", headers=who)).json()
                    for task in board:
                        move = {"open": "claim", "claimed": "respond", "responded": "resolve"}.get(task["status"])
                        if move and (task["member_id"] in (None, member.id)) and rng.random() < 0.7:
                            await http.post(f"/api/tasks/{task['case_id']}/{move}", json={"note": "已处理"},
                                            headers=who)
            await asyncio.sleep(0.5)


async def unsettled(bootstrap: str, database_url: str) -> list[str]:
    """What is still moving: groups behind on their topics, outboxes holding rows, timers
    still to fire."""
    behind = [group for group, names in CONSUMERS.items() if not await caught_up(bootstrap, group, list(names))]
    connection = await asyncpg.connect(database_url)
    try:
        held = [f"{name} outbox" for name in SERVICE_NAMES
                if await connection.fetchval(f'SELECT count(*) FROM "appeal_{name}".outbox')]
        if await connection.fetchval("SELECT count(*) FROM appeal_sla.sla_timer WHERE state = 'pending'"):
            held.append("pending timers")
    finally:
        await connection.close()
    return behind + held


async def until_settled(bootstrap: str, database_url: str, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    moving = await unsettled(bootstrap, database_url)
    while moving and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
        moving = await unsettled(bootstrap, database_url)
    assert not moving, f"still moving after {timeout}s: {moving}"


@pytest.mark.skipif(not POSTGRES_URL, reason="needs APPEAL_TEST_POSTGRES_URL: replicas share PostgreSQL")
async def test_sigkill_of_each_service_in_turn_loses_and_repeats_nothing(kafka, tmp_path):
    async with scratch_postgres(POSTGRES_URL, "appeal_crash") as database_url:
        env = deployment_env(kafka.bootstrap, database_url, tmp_path,
                             APPEAL_DISTRICT_FILE=str(district_file(tmp_path, accept="20s", respond="30s")))
        upgraded = appeal("db", "upgrade", env=env)
        assert upgraded.returncode == 0, upgraded.stderr
        with deployment(env, tmp_path) as services:
            for service in services.values():
                await service.until_ready()
            stop = asyncio.Event()
            reporter = Reporter(kafka.bootstrap)
            load = [asyncio.create_task(reporter.run(stop)),
                    asyncio.create_task(members_at_work(services["claim"].url, stop, random.Random(7)))]
            try:
                for name in SERVICE_NAMES:
                    await asyncio.sleep(KILL_EVERY_SECONDS)
                    services[name].kill()
                    await asyncio.sleep(1.0)
                    services[name].start()
                    await services[name].until_ready()
                await asyncio.sleep(KILL_EVERY_SECONDS)
            finally:
                stop.set()
                await asyncio.gather(*load, return_exceptions=True)
            # Settled means the clock too has nothing left to fire: every deadline met, missed or
            # cancelled, so the services stop on a state that no longer moves by itself.
            await until_settled(kafka.bootstrap, database_url, 300)

            connection = await asyncpg.connect(database_url)
            try:
                rows = await connection.fetch('SELECT external_id, status FROM "appeal_intake".intake_case')
            finally:
                await connection.close()
        audited = appeal("audit", "--settle", "0", env=env)

    cases = {row["external_id"]: row["status"] for row in rows}
    assert sorted(cases) == sorted(reporter.sent), "a report was lost or registered twice"
    assert [e for e, status in cases.items() if status == "registered"] == [], "a case was never dispatched"
    assert all(service.kills == 1 for service in services.values())
    assert audited.returncode == 0, audited.stdout + audited.stderr
    print(json.dumps({"reports": len(reporter.sent), "kills": len(SERVICE_NAMES)}))
