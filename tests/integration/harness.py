"""Run the whole system in-process against a real broker and drive it over HTTP."""

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata
from sqlalchemy import func, select
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from services.dev import upgrade_databases
from services.system import System, build_system
from shared import topics
from shared.district import bundled_district_path
from shared.outbox import OutboxMessage
from shared.runtime import service_database
from shared.settings import Settings

CONSUMERS = {
    "appeal-intake": topics.INBOUND_TOPICS,
    "appeal-intake-timeline": topics.INTERNAL_TOPICS,
    "appeal-dispatch": (topics.CASE_REGISTERED, topics.TASK_EVENTS, topics.FEEDBACK_EVENTS),
    "appeal-claim": (topics.CASE_DISPATCH, topics.SLA_EVENTS),
    "appeal-sla": (topics.CASE_DISPATCH, topics.TASK_EVENTS, topics.FEEDBACK_EVENTS),
    "appeal-feedback": (topics.CASE_REGISTERED, topics.TASK_EVENTS, topics.PROJECT_EVENTS),
}
"""Each consumer group and the topics it consumes: what "everything handled" waits for."""


def settings_for(bootstrap: str, data_dir: Path, **overrides: Any) -> Settings:
    return Settings(kafka_bootstrap=bootstrap, data_dir=data_dir, kafka_session_timeout_ms=2000,
                    sla_poll_seconds=0.2, outbox_poll_seconds=0.2, **overrides)


@dataclass
class Running:
    system: System
    http: httpx.AsyncClient

    async def login(self, user_id: str, password: str = "demo") -> dict[str, str]:
        response = await self.http.post("/api/auth/login", json={"user_id": user_id, "password": password})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def case(self, case_id: str, headers: dict[str, str]) -> dict[str, Any]:
        response = await self.http.get(f"/api/cases/{case_id}", headers=headers)
        response.raise_for_status()
        return response.json()

    async def wait_for(self, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Poll until ``probe`` returns something truthy without raising AssertionError."""
        async for attempt in AsyncRetrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.1),
                                           retry=retry_if_exception_type(AssertionError), reraise=True):
            with attempt:
                result = await probe()
                assert result, "not yet"
                return result
        return None

    async def register(self, headers: dict[str, str], **fields: Any) -> dict[str, str]:
        """File a case through the operator form; a noise complaint at 南后街 (branch B0101) unless told."""
        body = {"source": "hotline", "description": "南后街12号楼下装修噪音很大", "citizen_name": "王女士",
                "citizen_phone": "13800000001", "address": "南后街12号", **fields}
        response = await self.http.post("/api/cases", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def wait_case(self, case_id: str, headers: dict[str, str], check: Callable[[dict[str, Any]], Any],
                        timeout: float = 30.0) -> dict[str, Any]:
        """Poll the case until ``check(detail)`` is truthy; the detail it last saw is in the failure."""
        seen: dict[str, Any] = {}

        async def probe() -> dict[str, Any]:
            seen["case"] = await self.case(case_id, headers)
            assert check(seen["case"]), f"case not there yet: {seen['case']}"
            return seen["case"]

        return await self.wait_for(probe, timeout=timeout)


    async def deadline_settled(self, bootstrap: str) -> None:
        """Wait until whatever the clock decided so far has reached every case's timeline:
        the sla outbox published, claim past every sla event and its outbox published, the
        timeline past every task and sla event. Before a check that something did *not*
        happen, after a positive sign that its moment has passed."""
        async def settled() -> bool:
            assert not await self.system.service("sla").relay.pending(), "sla outbox"
            assert await caught_up(bootstrap, "appeal-claim", [topics.SLA_EVENTS]), "claim behind"
            assert not await self.system.service("claim").relay.pending(), "claim outbox"
            assert await caught_up(bootstrap, "appeal-intake-timeline", [topics.SLA_EVENTS, topics.TASK_EVENTS]), \
                "timeline behind"
            return True

        await self.wait_for(settled, timeout=60)


def events(detail: dict[str, Any], kind: str, **match: Any) -> list[dict[str, Any]]:
    """The timeline entries of one type whose fields equal ``match``."""
    return [e for e in detail["timeline"] if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]


@asynccontextmanager
async def running_system(settings: Settings, **build: Any):
    system = build_system(settings, **build)
    await upgrade_databases(system)
    await asyncio.gather(*(s.start(settings) for s in system.services))
    transport = httpx.ASGITransport(app=system.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://appeal.test") as http:
            running = Running(system, http)
            await running.wait_for(lambda: _ready(http), timeout=60)
            yield running
    finally:
        await asyncio.gather(*(s.stop() for s in system.services), return_exceptions=True)


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


def district_file(directory: Path, *, accept: str, respond: str, suspend_limit: str = "24h",
                  **top_level: Any) -> Path:
    """A copy of the bundled district with tiny SLA durations (both priorities), plus any
    top-level overrides such as ``escalation_loops``."""
    raw = yaml.safe_load(bundled_district_path().read_text(encoding="utf-8"))
    raw["sla"] = {p: {"accept": accept, "respond": respond, "warn_at": 0.8, "suspend_limit": suspend_limit}
                  for p in ("normal", "urgent")}
    raw.update(top_level)
    path = directory / "district.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def report(external_id: str, **fields: Any) -> bytes:
    """An inbound hotline report as the hotline platform sends it."""
    body = {"source": "hotline", "external_id": external_id, "description": "南后街夜间施工噪音很大",
            "citizen_name": "王女士", "citizen_phone": "13800000001", "address": "南后街12号", **fields}
    return json.dumps(body, ensure_ascii=False).encode()


async def publish(bootstrap: str, topic: str, *values: bytes, key: bytes | None = None, partition: int | None = None,
                  headers: list[tuple[str, bytes]] | None = None,
                  max_request_size: int = 1_048_576) -> list[RecordMetadata]:
    """Send raw values in order, waiting for each to be acknowledged; where each landed."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=max_request_size)
    await producer.start()
    try:
        return [await producer.send_and_wait(topic, value, key=key, partition=partition, headers=headers)
                for value in values]
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Everything on ``topic`` right now, from the earliest offset, under a fresh group
    that commits nothing."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"test-reader-{uuid.uuid4()}",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            batches = await consumer.getmany(*partitions, timeout_ms=500)
            records.extend(r for batch in batches.values() for r in batch)
        return records
    finally:
        await consumer.stop()


async def caught_up(bootstrap: str, group: str, topics: Sequence[str]) -> bool:
    """True once ``group`` has committed past every message now on ``topics``: whatever
    was published before this call has been handled by that group's consumers."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        return all(end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items())
    finally:
        await admin.close()
        await consumer.stop()


async def outbox_pending(database_url: str, data_dir: Path, service: str) -> int:
    """Rows in a service's outbox, read from its database: what a process that is down
    (or cut off from the broker) has committed and not yet published."""
    db = service_database(Settings(database_url=database_url, data_dir=data_dir), service, [])
    try:
        async with db.reading() as session:
            return (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    finally:
        await db.dispose()
