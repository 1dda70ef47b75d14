"""One service's composition root on FastStream's in-memory test broker, on SQLite and
(with APPEAL_TEST_POSTGRES_URL) PostgreSQL."""

from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.claim.board import CLAIM, TaskBoard
from services.claim.metrics import ClaimMetrics
from services.system import BUILDERS, System, build_context, build_system
from shared import topics
from shared.auth import Identity
from shared.clock import FakeClock
from shared.events import CaseDispatched
from shared.outbox import OutboxMessage
from shared.runtime import Service
from shared.settings import Settings
from tests.unit.factories import CASE_ID, T0, make_dispatched

MEMBER = Identity("M001", "张伟", "member", "B0101")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service_under_test(tmp_path, clock, database_url):
    """On SQLite, and on PostgreSQL when the tests have a server."""

    @asynccontextmanager
    async def start(name: str):
        context = build_context(Settings(data_dir=tmp_path, database_url=database_url), clock=clock)
        service: Service = BUILDERS[name](context)
        await service.db.create_tables()
        async with TestKafkaBroker(service.broker) as broker:
            yield service, broker
        await service.db.dispose()

    return start


async def outbox(service: Service) -> list[OutboxMessage]:
    async with service.db.session() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def claimed_by_member(service: Service, broker, clock: FakeClock) -> tuple[TaskBoard, CaseDispatched]:
    """The claim service with the sample case dispatched to B0101 and claimed by MEMBER, at T0."""
    clock._now = T0
    dispatched = make_dispatched(1, at=T0)
    await broker.publish(dispatched, topics.CASE_DISPATCH)
    board = TaskBoard(service.uow, clock, ClaimMetrics.register(CollectorRegistry()))
    await board.perform(CLAIM, str(CASE_ID), MEMBER)
    return board, dispatched


@dataclass
class ApiClient:
    http: httpx.AsyncClient
    system: System

    async def login(self, user_id: str, password: str = "demo") -> dict[str, str]:
        response = await self.http.post("/api/auth/login", json={"user_id": user_id, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@asynccontextmanager
async def api_client(tmp_path, database_url: str, **build):
    """The whole system's HTTP app on its databases, with no broker: the outbox rows the
    routes write stay where they are."""
    system = build_system(Settings(data_dir=tmp_path, database_url=database_url, kafka_bootstrap="127.0.0.1:9"),
                          **build)
    for service in system.services:
        await service.db.create_tables()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://appeal.test") \
                as http:
            yield ApiClient(http, system)
    finally:
        for service in system.services:
            await service.db.dispose()
