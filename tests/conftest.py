import os

import pytest

from shared.db import scratch_postgres
from shared.embedded import EmbeddedBroker

POSTGRES_URL = os.environ.get("APPEAL_TEST_POSTGRES_URL")
SOAK_TIMEOUT_SECONDS = 1800
"""The longer runs' own limit; every other test has pyproject's ``timeout``."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("soak") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SOAK_TIMEOUT_SECONDS))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With a PostgreSQL server named, a PostgreSQL case that skipped is a failure: the
    run would otherwise pass while proving nothing on that backend."""
    if not POSTGRES_URL or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = [report for report in (reporter.stats.get("skipped", []) if reporter else [])
               if "postgres" in report.nodeid.lower() or "POSTGRES" in str(report.longrepr)]
    if skipped:
        for report in skipped:
            print(f"\nskipped on PostgreSQL although APPEAL_TEST_POSTGRES_URL is set: {report.nodeid}: "
                  f"{report.longrepr}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path):
    """A database URL for the services, on each backend. PostgreSQL runs only when
    APPEAL_TEST_POSTGRES_URL names a server; each test gets a fresh database there."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'appeal.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("set APPEAL_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) "
                    "to run on PostgreSQL")
    async with scratch_postgres(POSTGRES_URL, "appeal_test") as url:
        yield url


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
