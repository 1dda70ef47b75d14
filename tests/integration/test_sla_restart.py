"""SIGKILL the sla service while its timers are firing and their events sit in the
outbox (the broker cut off behind a gate, so nothing of them was published); after a
restart every timer's event reaches the topic exactly once: a timer fired again, or a
row published twice, shows up as an event id delivered twice."""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from shared.embedded import free_port
from tests.integration.harness import caught_up, outbox_pending, read_topic
from tests.integration.kafka_gate import gated_broker
from tests.unit.factories import make_dispatched

pytestmark = pytest.mark.integration
APPEAL = str(Path(sys.executable).parent / "appeal")
CASES = 20
TIMERS_PER_CASE = 4  # accept warning, accept, respond warning, respond
ACCEPT = timedelta(seconds=6)
RESPOND = timedelta(seconds=20)
"""Room on a loaded machine: the gate must close before the first warning (0.8 of accept)
and the kill land before the first respond warning (0.8 of respond)."""


def start_sla(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([APPEAL, "run", "sla"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def until_ready(process: subprocess.Popen[bytes], port: int) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            assert process.poll() is None, "the sla service exited"
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the sla service never became ready")


async def test_sigkill_while_timers_fire_then_restart_delivers_each_once(tmp_path, database_url):
    port = free_port()
    async with gated_broker(tmp_path / "broker.log") as gate:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")},
               "APPEAL_KAFKA_BOOTSTRAP": gate.bootstrap, "APPEAL_DATABASE_URL": database_url,
               "APPEAL_SECRET_KEY": secrets.token_urlsafe(48),
               "APPEAL_DATA_DIR": str(tmp_path), "APPEAL_HTTP_PORT": str(port),
               "APPEAL_KAFKA_SESSION_TIMEOUT_MS": "2000", "APPEAL_SLA_POLL_SECONDS": "0.2"}
        subprocess.run([APPEAL, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
        sla = start_sla(env)
        try:
            await until_ready(sla, port)
            now = datetime.now(UTC)
            dispatches = [make_dispatched(1, at=now, case_id=uuid.uuid4(), accept=ACCEPT, respond=RESPOND)
                          for _ in range(CASES)]
            producer = AIOKafkaProducer(bootstrap_servers=gate.bootstrap)
            await producer.start()
            try:
                for event in dispatches:
                    await producer.send(topics.CASE_DISPATCH, event.model_dump_json().encode(),
                                        key=str(event.case_id).encode())
                await producer.flush()
            finally:
                await producer.stop()
            for _ in range(100):
                if await caught_up(gate.bootstrap, "appeal-sla", [topics.CASE_DISPATCH]):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the sla service did not take the dispatches")
            gate.close()
            assert datetime.now(UTC) < now + ACCEPT * 0.8, "too slow: timers fell due before the gate closed"

            # The accept warnings and deadlines fire into the outbox; the respond timers are still to come.
            for _ in range(200):
                held = await outbox_pending(database_url, tmp_path, "sla")
                if held >= 2 * CASES:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the accept timers did not fire into the outbox ({held} rows)")
            assert datetime.now(UTC) < now + RESPOND * 0.8, "too slow: the respond timers fired before the kill"
            sla.send_signal(signal.SIGKILL)
            sla.wait()
            assert await outbox_pending(database_url, tmp_path, "sla") >= 2 * CASES, "the outbox kept its rows"

            gate.reopen()
            sla = start_sla(env)
            await until_ready(sla, port)
            expected = CASES * TIMERS_PER_CASE
            for _ in range(400):
                records = await read_topic(gate.bootstrap, topics.SLA_EVENTS)
                if len(records) >= expected and not await outbox_pending(database_url, tmp_path, "sla"):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # a refire after the outbox drained would land now
            records = await read_topic(gate.bootstrap, topics.SLA_EVENTS)
        finally:
            sla.send_signal(signal.SIGINT)
            sla.wait(timeout=30)
    deliveries = Counter(dict(record.headers)["event_id"] for record in records)
    timers: dict[tuple[str, str], set[bytes]] = {}
    for record in records:
        event = json.loads(record.value)
        timers.setdefault((event["case_id"], f"{event['type']}:{event['stage']}"), set()).add(
            dict(record.headers)["event_id"])
    assert len(timers) == expected, "every timer of every case fired"
    assert all(len(ids) == 1 for ids in timers.values()), "each timer's event has one id"
    twice = {event_id: n for event_id, n in deliveries.items() if n > 1}
    assert not twice, f"delivered more than once: {twice}"
