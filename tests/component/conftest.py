"""One service's composition root on FastStream's in-memory test broker, on SQLite and
(with APPEAL_TEST_POSTGRES_URL) PostgreSQL."""

from contextlib import asynccontextmanager

import pytest
from faststream.kafka import TestKafkaBroker
from sqlalchemy import select

from services.system import BUILDERS, build_context
from shared.clock import FakeClock
from shared.outbox import OutboxMessage
from shared.runtime import Service
from shared.settings import Settings


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
