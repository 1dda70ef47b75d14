"""`appeal report` as a user runs it, on an intake database built by the real projection."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.intake.store import TABLES, Case, project
from shared.runtime import service_database
from shared.settings import Settings
from tests.unit.factories import (
    T0,
    make_breached,
    make_claimed,
    make_dispatched,
    make_escalated,
    make_feedback,
    make_resolved,
    make_responded,
)

pytestmark = pytest.mark.e2e
APPEAL = [str(Path(sys.executable).parent / "appeal")]

IN_TIME, LATE, UNCLAIMED, LAST_MONTH, ESCALATED = (uuid.UUID(int=n) for n in range(1, 6))
CREATED = {IN_TIME: T0, LATE: T0, UNCLAIMED: T0, LAST_MONTH: T0 - timedelta(days=30), ESCALATED: T0}


def events():
    later = T0 + timedelta(hours=2)
    in_time = [make_dispatched(case_id=IN_TIME), make_claimed(case_id=IN_TIME, seconds=120),
               make_responded(case_id=IN_TIME, seconds=900), make_resolved(case_id=IN_TIME),
               make_feedback(case_id=IN_TIME, rating=5, satisfied=True, at=later)]
    # Out of order, and the claim delivered twice.
    late_claim = make_claimed(case_id=LATE, seconds=700)
    late = [make_feedback(case_id=LATE, rating=2, satisfied=False, at=later), make_resolved(case_id=LATE),
            late_claim, make_breached(case_id=LATE, stage="accept"), make_dispatched(case_id=LATE), late_claim,
            make_responded(case_id=LATE, seconds=1000)]
    unclaimed = [make_dispatched(branch_code="B0201", case_id=UNCLAIMED)]
    last_month = [make_dispatched(case_id=LAST_MONTH, at=CREATED[LAST_MONTH]),
                  make_claimed(case_id=LAST_MONTH, seconds=30)]
    escalated = [make_dispatched(branch_code="B0102", case_id=ESCALATED),
                 make_breached(case_id=ESCALATED, stage="accept", branch_code="B0102"),
                 make_escalated(2, "S01", case_id=ESCALATED, at=T0 + timedelta(minutes=10))]
    return [*in_time, *late, *unclaimed, *last_month, *escalated]


async def build_intake_database(data_dir: Path) -> None:
    db = service_database(Settings(data_dir=data_dir, database_url=None), "intake", TABLES)
    await db.create_tables()
    try:
        async with db.session() as session, session.begin():
            for n, (case_id, created_at) in enumerate(CREATED.items(), start=1):
                session.add(Case(case_id=str(case_id), case_no=f"350102-20261121-{n:06d}", tracking_code=f"T{n:07d}",
                                 source="hotline", description="楼下装修噪音吵闹", category="noise",
                                 priority="normal", created_at=created_at, correlation_id=str(uuid.uuid4())))
            await session.flush()
            await project(session, events(), datetime.now(tz=T0.tzinfo))
    finally:
        await db.dispose()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    directory = tmp_path / "data"
    asyncio.run(build_intake_database(directory))
    return directory


def appeal(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    return subprocess.run([*APPEAL, *args], check=False, capture_output=True, text=True, timeout=60,
                          env=env)


def test_csv_of_every_case(data_dir):
    result = appeal("report", "--data-dir", str(data_dir), "--csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        ("branch_code,branch_name,cases,dispatched,accepted_on_time,responded_on_time,resolved,rated,satisfied,"
         "accept_rate,respond_rate,resolution_rate,satisfaction_rate"),
        "B0101,三坊七巷社区党支部,3,3,2,2,2,2,1,66.7,66.7,66.7,50.0",
        "B0201,西湖社区党支部,1,1,0,0,0,0,0,0.0,0.0,0.0,-",
        "-,,1,1,0,0,0,0,0,0.0,0.0,0.0,-",
        "合计,,5,5,2,2,2,2,1,40.0,40.0,40.0,50.0",
    ]


def test_table_for_one_street_since_a_date(data_dir):
    result = appeal("report", "--data-dir", str(data_dir), "--since", "2026-11-01", "--street", "S01")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [
        ["支部代码", "支部", "案件数", "响应率", "1h响应率", "解决率", "满意率"],
        ["B0101", "三坊七巷社区党支部", "2", "50.0%", "100.0%", "100.0%", "50.0%"],
        ["-", "1", "0.0%", "0.0%", "0.0%", "-"],
        ["合计", "3", "33.3%", "66.7%", "66.7%", "50.0%"],
    ]


def test_an_empty_data_dir_gives_an_empty_report(tmp_path):
    result = appeal("report", "--data-dir", str(tmp_path / "fresh"), "--csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["合计,,0,0,0,0,0,0,0,-,-,-,-"]


def test_bad_options_are_refused_in_plain_words(tmp_path):
    bad_date = appeal("report", "--data-dir", str(tmp_path), "--since", "21/11/2026")
    assert bad_date.returncode == 2 and "--since must be a date" in bad_date.stderr
    bad_street = appeal("report", "--data-dir", str(tmp_path), "--street", "S99")
    assert bad_street.returncode == 2
    assert "S99" in bad_street.stderr and "S01 鼓东街道" in bad_street.stderr
    assert "Traceback" not in bad_date.stderr + bad_street.stderr
