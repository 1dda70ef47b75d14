"""`appeal db` as a user runs it, `appeal run` refusing a database that is behind, and
`appeal dev` upgrading by itself."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData, Table

from services.databases import SERVICE_TABLES
from services.intake.store import Case
from shared.db import Database
from shared.embedded import free_port
from shared.runtime import service_database
from shared.schema import head, upgrade
from shared.settings import Settings
from tests.unit.factories import T0

pytestmark = pytest.mark.e2e
APPEAL = [str(Path(sys.executable).parent / "appeal")]
SERVICES = list(SERVICE_TABLES)
HEADS = {name: head(name) for name in SERVICES}
"""Each service's migrations move on by themselves: their latest revisions differ."""
FIRST = "0001"


def appeal(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    return subprocess.run([*APPEAL, *args], capture_output=True, text=True, timeout=timeout,
                          env={**clean, **(env or {})})


async def at_first_revision(data_dir: Path, *, with_case: bool = False) -> None:
    """The data dir as the first version with migrations left it, a case registered."""
    for name in SERVICES:
        db = service_database(Settings(data_dir=data_dir), name, SERVICE_TABLES[name])
        try:
            await upgrade(db, FIRST)
            if name == "intake" and with_case:
                async with db.session() as session, session.begin():
                    session.add(Case(case_id="00000000-0000-4000-8000-000000012345", case_no="350102-20261121-000001",
                                     tracking_code="T0000001", external_id="RX20261121000123", source="hotline",
                                     description="南后街12号楼下工地夜间施工，噪音很大", category="noise",
                                     priority="normal", created_at=T0, correlation_id="c0de"))
        finally:
            await db.dispose()


def test_db_commands_have_help():
    for command in (["db"], ["db", "upgrade"], ["db", "status"], ["db", "revision"]):
        result = appeal(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_upgrade_says_what_it_did_for_each_service_and_then_that_nothing_is_left(tmp_path, database_url):
    env = {"APPEAL_DATABASE_URL": database_url, "APPEAL_DATA_DIR": str(tmp_path)}
    before = appeal("db", "status", env=env)
    assert before.returncode == 1, before.stderr
    assert before.stdout.splitlines() == [f"{name}: empty, needs {HEADS[name]}" for name in SERVICES]

    upgraded = appeal("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.splitlines() == [f"{name}: empty → {HEADS[name]}" for name in SERVICES]

    again = appeal("db", "upgrade", env=env)
    assert again.stdout.splitlines() == [f"{name}: {HEADS[name]}, nothing to do" for name in SERVICES]
    after = appeal("db", "status", env=env)
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines() == [f"{name}: {HEADS[name]}, current" for name in SERVICES]


def test_upgrade_from_the_first_revision(tmp_path):
    asyncio.run(at_first_revision(tmp_path))
    upgraded = appeal("db", "upgrade", "--data-dir", str(tmp_path))
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.splitlines() == [f"{name}: {FIRST} → {HEADS[name]}" for name in SERVICES]


def test_run_refuses_a_database_that_is_behind_and_says_what_to_do(tmp_path):
    asyncio.run(at_first_revision(tmp_path))
    refused = appeal("run", "claim", env={"APPEAL_DATA_DIR": str(tmp_path), "APPEAL_KAFKA_BOOTSTRAP": "127.0.0.1:9",
                                          "APPEAL_SECRET_KEY": "k" * 48, "APPEAL_HTTP_PORT": str(free_port())})
    assert refused.returncode == 2
    assert refused.stderr.strip() == (f"error: the claim database is at revision {FIRST} but this code needs "
                                      f"revision {HEADS['claim']}: run `appeal db upgrade`")


def test_upgrade_refuses_a_database_it_cannot_recognise_in_plain_words(tmp_path):
    async def made_by_an_older_version() -> None:
        current = service_database(Settings(data_dir=tmp_path), "dispatch", SERVICE_TABLES["dispatch"])
        await current.dispose()
        metadata = MetaData()
        older = [Table(t.name, metadata, *[c._copy() for c in t.columns if c.name != "escalation"])
                 for t in current.tables]
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}", older)
        try:
            await db.create_tables()
        finally:
            await db.dispose()

    asyncio.run(made_by_an_older_version())
    refused = appeal("db", "upgrade", "--data-dir", str(tmp_path))
    assert refused.returncode == 2
    assert refused.stdout.splitlines() == [f"intake: empty → {HEADS['intake']}"], "the services before it are done"
    assert refused.stderr.startswith("error: the dispatch database was made by a version of appeal loop from "
                                     "before migrations")
    assert f"move {tmp_path / 'dispatch.db'} aside" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_dev_upgrades_by_itself_and_keeps_the_cases(tmp_path):
    data_dir = tmp_path / "data"
    asyncio.run(at_first_revision(data_dir, with_case=True))
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    process = subprocess.Popen([*APPEAL, "dev", "--port", str(port), "--data-dir", str(data_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean)
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not any(re.search(r"ready\s+http", line) for line in seen):
            line = process.stdout.readline()  # type: ignore[union-attr]
            assert line or process.poll() is None, "".join(seen)
            assert time.monotonic() < deadline, f"appeal dev never got ready:\n{''.join(seen)}"
            seen.append(line)
        upgraded = [line.split("upgraded", 1)[1].strip() for line in seen if line.lstrip().startswith("upgraded")]
        assert upgraded == [f"{name}: {FIRST} → {HEADS[name]}" for name in SERVICES], "".join(seen)
        base = f"http://127.0.0.1:{port}"
        login = httpx.post(f"{base}/api/auth/login", json={"user_id": "U100", "password": "demo"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        page = httpx.get(f"{base}/api/cases", params={"external_id": "RX20261121000123"}, headers=headers).json()
        assert [case["case_no"] for case in page["items"]] == ["350102-20261121-000001"]
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        seen.append(rest)
    assert process.returncode == 0, "".join(seen)
