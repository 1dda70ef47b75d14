"""SIGKILL the sla service with timers pending; after a restart every timer fires, late
and once: one event id per (case, timer), whatever the outbox had to resend."""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared import topics
from shared.embedded import free_port
from tests.integration.harness import caught_up, publish, read_topic
from tests.unit.factories import make_dispatched

pytestmark = pytest.mark.integration
APPEAL = str(Path(sys.executable).parent / "appeal")
CASES = 20


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


async def test_sigkill_with_pending_timers_then_restart_fires_each_once(kafka, tmp_path, database_url):
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")},
           "APPEAL_KAFKA_BOOTSTRAP": kafka.bootstrap, "APPEAL_DATABASE_URL": database_url,
           "APPEAL_SECRET_KEY": secrets.token_urlsafe(48),
           "APPEAL_DATA_DIR": str(tmp_path), "APPEAL_HTTP_PORT": str(port),
           "APPEAL_KAFKA_SESSION_TIMEOUT_MS": "2000", "APPEAL_SLA_POLL_SECONDS": "0.2"}
    subprocess.run([APPEAL, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    sla = start_sla(env)
    try:
        await until_ready(sla, port)
        now = datetime.now(UTC)
        dispatches = [make_dispatched(1, at=now, case_id=uuid.uuid4(), accept=timedelta(seconds=6),
                                      respond=timedelta(seconds=8)) for _ in range(CASES)]
        for event in dispatches:
            await publish(kafka.bootstrap, topics.CASE_DISPATCH, event.model_dump_json().encode(),
                          key=str(event.case_id).encode())
        for _ in range(100):
            if await caught_up(kafka.bootstrap, "appeal-sla", [topics.CASE_DISPATCH]):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the sla service did not take the dispatches")
        assert datetime.now(UTC) < now + timedelta(seconds=4.8), "too slow: timers fell due before the kill"
        sla.send_signal(signal.SIGKILL)
        sla.wait()
        await asyncio.sleep(max((now + timedelta(seconds=9) - datetime.now(UTC)).total_seconds(), 0))

        sla = start_sla(env)
        await until_ready(sla, port)
        expected = CASES * 4
        for _ in range(300):
            records = await read_topic(kafka.bootstrap, topics.SLA_EVENTS)
            if len({dict(r.headers)["event_id"] for r in records}) >= expected:
                break
            await asyncio.sleep(0.1)
        fired: dict[tuple[str, str], set[bytes]] = {}
        for record in records:
            event = json.loads(record.value)
            kind = event["type"] + ":" + event["stage"]
            fired.setdefault((event["case_id"], kind), set()).add(dict(record.headers)["event_id"])
        assert len(fired) == expected, "every timer of every case fired"
        assert all(len(ids) == 1 for ids in fired.values()), "no timer fired twice"
    finally:
        sla.send_signal(signal.SIGINT)
        sla.wait(timeout=30)
