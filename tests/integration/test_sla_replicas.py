"""Two `appeal run sla` replicas on one PostgreSQL database fire 2,000 timers (10,000 in
make soak), each once.

The firing loop claims due rows under ``FOR UPDATE SKIP LOCKED`` so replicas share the
work without overlap. A timer's event id is derived from the timer itself, so a timer
fired by both replicas (or republished by both outbox relays) shows up as an event id
that occurs twice on appeal.sla.events; the replicas' deadline counters would also add
up to more than the timers. The timers fall due over a few seconds, after both replicas
are polling, and each replica's counter must be non-zero: the overlap is really tried.
"""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared import topics
from shared.embedded import free_port
from tests.integration.harness import read_topic
from tests.strategies import SOAK_MARKS

pytestmark = pytest.mark.integration
SLA = [str(Path(sys.executable).parent / "appeal"), "run", "sla"]
TIMERS = 2_000
SOAK_TIMERS = 10_000
"""Timers in make test, and in make soak."""
LEAD_S, SPREAD_S = 1.0, 3.0
COLUMNS = ("case_id", "correlation_id", "kind", "stage", "generation", "branch_code", "due_at", "deadline", "state")


async def until(probe, what: str, timeout: float = 45.0):
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not (result := await probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)
    return result


async def deadlines_reached(http: httpx.AsyncClient, port: int) -> float:
    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "appeal_sla_deadlines_reached_total")


def start_sla(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(SLA, env=env, stdout=out, stderr=out)


def stop(replicas: list[subprocess.Popen[bytes]]) -> list[int]:
    for process in replicas:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in replicas:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return [process.returncode for process in replicas]


@pytest.mark.parametrize("timers", [TIMERS, pytest.param(SOAK_TIMERS, marks=SOAK_MARKS, id="soak")])
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_replicas_fire_thousands_of_timers_each_once(kafka, tmp_path, database_url, timers):
    ports = [free_port(), free_port()]
    base = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    key = secrets.token_urlsafe(48)
    replicas: list[subprocess.Popen[bytes]] = []
    db = await asyncpg.connect(database_url)
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            async def ready() -> bool:
                assert all(p.poll() is None for p in replicas), f"an sla replica exited; logs in {tmp_path}"
                try:
                    return all([(await http.get(f"http://127.0.0.1:{p}/readyz")).status_code == 200
                                for p in ports[:len(replicas)]])
                except httpx.TransportError:
                    return False

            # Two upgrades together on a fresh database take turns; then both replicas start together.
            upgrade = {**base, "APPEAL_DATABASE_URL": database_url, "APPEAL_DATA_DIR": str(tmp_path)}
            upgrades = [subprocess.Popen([SLA[0], "db", "upgrade"], env=upgrade, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT) for _ in range(2)]
            outputs = [u.communicate(timeout=120)[0].decode() for u in upgrades]
            assert [u.returncode for u in upgrades] == [0, 0], outputs
            for port in ports:
                env = {**base, "APPEAL_KAFKA_BOOTSTRAP": kafka.bootstrap, "APPEAL_DATABASE_URL": database_url,
                       "APPEAL_SECRET_KEY": key,
                       "APPEAL_DATA_DIR": str(tmp_path), "APPEAL_HTTP_PORT": str(port),
                       "APPEAL_KAFKA_SESSION_TIMEOUT_MS": "2000", "APPEAL_SLA_POLL_SECONDS": "0.2",
                       "APPEAL_OUTBOX_POLL_SECONDS": "0.2"}
                replicas.append(start_sla(env, tmp_path / f"sla-{port}.log"))
            await until(ready, "both replicas to be ready", timeout=60)
            start = await db.fetchval("SELECT clock_timestamp()") + timedelta(seconds=LEAD_S)
            correlation = str(uuid.uuid4())
            dues = [start + timedelta(seconds=SPREAD_S * i / timers) for i in range(timers)]
            rows = [(str(uuid.uuid4()), correlation, "accept", "accept", 1, "B0101", due, due + timedelta(minutes=10),
                     "pending") for due in dues]
            await db.copy_records_to_table("sla_timer", records=rows, columns=COLUMNS, schema_name="appeal_sla")

            async def drained() -> bool:
                fired = await db.fetchval("SELECT count(*) FROM appeal_sla.sla_timer WHERE state = 'fired'")
                return fired == timers and await db.fetchval("SELECT count(*) FROM appeal_sla.outbox") == 0

            await until(drained, "every timer fired and every outbox row published")
            assert await db.fetchval("SELECT count(*) FROM appeal_sla.sla_timer WHERE fired_at IS NULL") == 0

            records = await read_topic(kafka.bootstrap, topics.SLA_EVENTS)
            repeated = {i: n for i, n in Counter(dict(r.headers)["event_id"] for r in records).items() if n > 1}
            assert not repeated, f"{len(repeated)} event ids published more than once"
            assert len(records) == timers
            assert sorted(json.loads(r.value)["case_id"] for r in records) == sorted(row[0] for row in rows)

            split = [await deadlines_reached(http, port) for port in ports]
            print(f"timers fired per replica: {split}")
            assert sum(split) == timers, f"replicas fired {split}: some timer more than once"
            assert all(split), f"one replica fired everything {split}: the overlap was not exercised"
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -SIGTERM is a clean exit.
        assert set(stop(replicas)) <= {0, -signal.SIGTERM}
        assert all("service_stopped" in (tmp_path / f"sla-{port}.log").read_text() for port in ports)
    finally:
        stop(replicas)
        await db.close()
