import os

import pytest

from shared.embedded import EmbeddedBroker

POSTGRES_URL = os.environ.get("APPEAL_TEST_POSTGRES_URL")


@pytest.fixture
async def kafka(tmp_path):
    """A real Kafka-protocol broker (Tansu) per test, so tests never see each other's messages."""
    broker = EmbeddedBroker(log_file=tmp_path / "broker.log")
    await broker.start()
    yield broker
    await broker.stop()
