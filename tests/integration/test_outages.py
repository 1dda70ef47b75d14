"""PostgreSQL or the broker going away under load: the services wait and retry, say what
is wrong in /readyz, answer 503 rather than 500, park nothing as poison, and lose nothing."""

import asyncio
import contextlib
import json

import pytest

from shared import topics
from shared.embedded import EmbeddedBroker
from tests.integration.harness import Running, caught_up, publish, read_topic, report, running_system, settings_for
from tests.integration.private_postgres import PrivatePostgres
from tests.strategies import SOAK_MARKS

# Minutes of outage each: a fault run of `make soak` (CI runs it).
pytestmark = [pytest.mark.integration, *SOAK_MARKS]

OUTAGE_SECONDS = 6.0


class Load:
    """An operator filing a case every 0.1 s, trying again after a 503 as a client should."""

    def __init__(self, run: Running, headers: dict[str, str]) -> None:
        self.run = run
        self.headers = headers
        self.accepted: list[str] = []
        self.unavailable = 0
        self.failures: list[str] = []

    async def file_cases(self, count: int) -> None:
        for n in range(count):
            body = {"source": "hotline", "description": f"南后街{n}号楼下施工噪音", "address": f"南后街{n}号"}
            while True:
                response = await self.run.http.post("/api/cases", json=body, headers=self.headers)
                if response.status_code == 201:
                    self.accepted.append(response.json()["case_id"])
                    break
                if response.status_code == 503:
                    assert response.headers.get("retry-after"), response.text
                    self.unavailable += 1
                else:
                    self.failures.append(f"{response.status_code} {response.text}")
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.1)


async def readiness(run: Running) -> dict:
    return (await run.http.get("/readyz")).json()


async def test_the_database_stopped_under_load_loses_nothing(kafka, tmp_path):
    server = PrivatePostgres().initialise()
    server.start()
    try:
        settings = settings_for(kafka.bootstrap, tmp_path, database_url=server.url)
        async with running_system(settings) as run:
            operator = await run.login("U100")
            load = Load(run, operator)
            filing = asyncio.create_task(load.file_cases(60))
            await run.wait_for(lambda: _at_least(load.accepted, 10))

            server.stop()
            grid_reports = [report(f"GRID-OUTAGE-{n}", source="grid", description=f"三坊七巷{n}号井盖松动")
                            for n in range(20)]
            await publish(kafka.bootstrap, topics.INBOUND_GRID, *grid_reports)
            seen_down = await run.wait_for(lambda: _says_the_database_is_down(run), timeout=30)
            await asyncio.sleep(OUTAGE_SECONDS)
            server.start()

            await asyncio.wait_for(filing, timeout=120)
            assert load.failures == [], load.failures
            assert load.unavailable > 0, "the outage never reached the HTTP API"

            async def every_case_dispatched() -> bool:
                listed = await run.http.get("/api/cases", params={"page_size": 200}, headers=operator)
                items = listed.json()["items"]
                waiting = [c["case_id"] for c in items if c["status"] in ("registered",)]
                assert len(items) == 80 and not waiting, f"{len(items)} cases, {len(waiting)} not dispatched"
                return True

            await run.wait_for(every_case_dispatched, timeout=120)
            await run.wait_for(lambda: _ready(run), timeout=60)
            await run.wait_for(lambda: caught_up(kafka.bootstrap, "appeal-intake", list(topics.INBOUND_TOPICS)))
        letters = await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)
        assert letters == [], [dict(letter.headers) for letter in letters]
        assert len(set(load.accepted)) == 60
        assert any("database" in json.dumps(p).lower() or "connect" in json.dumps(p).lower()
                   for p in seen_down["problems"]), seen_down
    finally:
        with contextlib.suppress(Exception):
            server.destroy()


async def _at_least(items: list[str], count: int) -> bool:
    return len(items) >= count


async def _says_the_database_is_down(run: Running) -> dict | None:
    state = await readiness(run)
    return state if not state["ready"] and state["problems"] else None


async def _ready(run: Running) -> bool:
    return (await readiness(run))["ready"]


async def test_cases_filed_while_the_broker_is_down_flow_through_after_it_returns(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        before = [await run.register(operator) for _ in range(5)]
        for created in before:
            await run.wait_case(created["case_id"], operator, lambda c: c["status"] == "dispatched")
        # The development broker keeps data in memory only: let everything drain first.
        await run.wait_for(lambda: _nothing_pending(run))
        await kafka.stop()

        during = [await run.register(operator) for _ in range(15)]
        stalled = await run.wait_for(lambda: _says_the_outbox_is_stuck(run), timeout=60)
        restarted = EmbeddedBroker(port=kafka.port, log_file=tmp_path / "broker-again.log")
        await restarted.start()
        try:
            for created in during:
                await run.wait_case(created["case_id"], operator, lambda c: c["status"] == "dispatched", timeout=120)
            await run.wait_for(lambda: _ready(run), timeout=60)
        finally:
            await restarted.stop()
    assert any(problem.get("outbox") for problem in stalled["problems"]), stalled


async def _nothing_pending(run: Running) -> bool:
    return all([await service.relay.pending() == 0 for service in run.system.services])


async def _says_the_outbox_is_stuck(run: Running) -> dict | None:
    state = await readiness(run)
    return state if any(problem.get("outbox") for problem in state["problems"]) else None
