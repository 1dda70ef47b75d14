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


@pytest.fixture(autouse=True)
async def _dump_tasks_when_stuck(request):
    """A test still running after two minutes prints where every asyncio task waits."""
    import asyncio
    import sys

    async def watchdog():
        await asyncio.sleep(120)
        print(f"\n{request.node.nodeid} is stuck; asyncio tasks:", file=sys.stderr)
        for task in asyncio.all_tasks():
            frames = task.get_stack(limit=12)
            print(f"  task {task.get_name()}", file=sys.stderr)
            for frame in frames:
                print(f"    {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}", file=sys.stderr)

    guard = asyncio.create_task(watchdog())
    yield
    guard.cancel()
