"""`appeal audit` as an operator runs it: a table and exit 0 on a consistent data dir, exit
1 and the violation when something is wrong, JSON for machines, exit 2 in plain words
when a database cannot be read."""

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.claim import store as claim
from services.dispatch import store as dispatch
from services.feedback import store as feedback
from services.intake import store as intake
from services.sla import store as sla
from shared.outbox import OutboxMessage
from shared.runtime import service_database
from shared.settings import Settings

pytestmark = pytest.mark.e2e
APPEAL = [str(Path(sys.executable).parent / "appeal")]
QUEUED = "00000000-0000-4000-8000-0000000a0d17"
CORRELATION = "00000000-0000-4000-8000-00000000c0de"
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def appeal(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    return subprocess.run([*APPEAL, *args], check=False, capture_output=True, text=True, timeout=60,
                          env={**clean, **env})


async def build(data_dir: Path, rows: dict[str, list]) -> None:
    settings = Settings(data_dir=data_dir, database_url=None)
    stores = {"intake": intake.TABLES, "dispatch": dispatch.TABLES, "claim": claim.TABLES, "sla": sla.TABLES,
              "feedback": feedback.TABLES}
    for name, tables in stores.items():
        db = service_database(settings, name, tables)
        try:
            await db.create_tables()
            async with db.session() as session, session.begin():
                session.add_all(rows.get(name, []))
        finally:
            await db.dispose()


def street_queue_case() -> dict[str, list]:
    """One report nobody could place, waiting in 鼓东街道's queue, as every service holds it."""
    summary = json.dumps({"case_no": "350102-20261121-000001", "source": "hotline", "description": "路灯不亮",
                          "category": "road", "priority": "normal"}, ensure_ascii=False)
    common = {"case_id": QUEUED, "correlation_id": CORRELATION}
    return {
        "intake": [
            intake.Case(**common, case_no="350102-20261121-000001", tracking_code="T0000001", source="hotline",
                        description="路灯不亮，晚上很黑", category="road", priority="normal", created_at=T0,
                        status="escalated", generation=1, rank=1, street_code="S01", escalation_count=1,
                        updated_at=T0, external_id="RX20261121000001"),
            intake.TimelineEntry(event_id=str(uuid.uuid4()), case_id=QUEUED, type="case.registered", at=T0,
                                 details="{}"),
            intake.TimelineEntry(event_id=str(uuid.uuid4()), case_id=QUEUED, type="case.escalated", at=T0,
                                 details=json.dumps({"generation": 1, "street_code": "S01", "reason": "initial"})),
        ],
        "dispatch": [dispatch.Assignment(**common, summary=summary, generation=1, state="escalated",
                                         street_code="S01", updated_at=T0)],
        "claim": [claim.Task(**common, generation=1, street_code="S01", status="escalated", summary=summary,
                             dispatched_at=T0)],
        "feedback": [feedback.RatableCase(**common, tracking_code_hash="ab" * 32)],
    }


@pytest.fixture
def data_dir(tmp_path) -> Path:
    directory = tmp_path / "data"
    asyncio.run(build(directory, street_queue_case()))
    return directory


def test_a_consistent_data_dir_audits_clean(data_dir):
    result = appeal("audit", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["CHECK", "RESULT", "RULE"]
    assert [line.split()[:2] for line in lines[1:7]] == [
        [check, "ok"] for check in ("dispatched", "timers", "feedback", "external_id", "applied_once", "outbox")]
    assert lines[-1] == ("audit clean: 6 checks passed; 1 case, 0 still settling (changed in the last 30 s).")


def test_a_stuck_outbox_row_fails_the_audit(data_dir):
    stuck = OutboxMessage(topic="appeal.task.events", key=QUEUED, event_type="supervisor.notified",
                          event_id=str(uuid.uuid4()), correlation_id=CORRELATION, payload="{}",
                          created_at=datetime.now(UTC) - timedelta(minutes=3))
    asyncio.run(build(data_dir, {"claim": [stuck]}))

    result = appeal("audit", "--data-dir", str(data_dir))
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line and not line.startswith(" ")}
    assert rows["outbox"].split()[1:3] == ["1", "violation"]
    assert rows["timers"].split()[1] == "ok"
    [example] = [line.split(maxsplit=2) for line in result.stdout.splitlines() if line.startswith("    ")]
    assert example[:2] == ["claim", QUEUED]
    assert re.fullmatch(r"outbox row 1 \(supervisor\.notified\) unpublished for 1\d\d s, since 20\d\d-.* UTC",
                        example[2]), example
    assert result.stdout.splitlines()[-1].startswith("audit failed: 1 violation in 1 of 6 checks; 1 case, 1 still")

    machine = appeal("audit", "--data-dir", str(data_dir), "--json")
    assert machine.returncode == 1
    document = json.loads(machine.stdout)
    assert (document["ok"], document["violations"], document["cases"]) == (False, 1, 1)
    [outbox] = [c for c in document["checks"] if c["check"] == "outbox"]
    [finding] = outbox["findings"]
    assert (finding["service"], finding["case_id"]) == ("claim", QUEUED)
    assert finding["problem"].startswith("outbox row 1 (supervisor.notified) unpublished for ")


def test_a_case_dispatch_lost_is_a_violation_once_settled(tmp_path):
    rows = street_queue_case()
    del rows["dispatch"]
    directory = tmp_path / "data"
    asyncio.run(build(directory, rows))
    result = appeal("audit", "--data-dir", str(directory), "--json")
    assert result.returncode == 1
    findings = [(c["check"], f["service"], f["case_id"]) for c in json.loads(result.stdout)["checks"]
                for f in c["findings"]]
    assert findings == [("dispatched", "dispatch", QUEUED)]


def test_unreadable_databases_exit_2_in_plain_words(tmp_path):
    missing = appeal("audit", "--data-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"error: no data dir at {tmp_path / 'nowhere'}")

    (tmp_path / "empty").mkdir()
    empty = appeal("audit", "--data-dir", str(tmp_path / "empty"))
    assert empty.returncode == 2
    assert f"no intake database at {tmp_path / 'empty' / 'intake.db'}" in empty.stderr
    assert not (tmp_path / "empty" / "intake.db").exists()

    unreachable = appeal("audit", APPEAL_DATABASE_URL="postgresql://audit:secret@127.0.0.1:1/appeal")
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith("error: cannot reach the intake database (postgresql://audit:***@127.0.0.1:1")
    assert "secret" not in unreachable.stderr
    assert "Traceback" not in missing.stderr + empty.stderr + unreachable.stderr
