"""`appeal dlq list` and `appeal dlq replay` as an operator runs them, against a real broker
with the system consuming in the same test."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.intake import handlers
from shared import topics
from tests.integration.harness import caught_up, publish, read_topic, report, running_system, settings_for

pytestmark = pytest.mark.e2e
APPEAL = [str(Path(sys.executable).parent / "appeal")]
HUGE = json.dumps({"source": "hotline", "external_id": "RX-HUGE-2", "description": "噪" * 700_000},
                  ensure_ascii=False).encode()


def appeal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    return subprocess.run([*APPEAL, *args], check=False, capture_output=True, text=True, timeout=60,
                          env={**clean, **(env or {})})


async def dlq(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run in a thread: the system under test keeps consuming on this event loop meanwhile."""
    return await asyncio.to_thread(appeal, "dlq", *args, env={"APPEAL_KAFKA_BOOTSTRAP": bootstrap})


def letter_id(letter) -> str:
    return f"{letter.partition}:{letter.offset}"


async def test_list_then_replay_twice_makes_one_case_and_cut_down_letters_stay(kafka, tmp_path, monkeypatch):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        def categories_not_loaded(*_args, **_kwargs):
            raise ValueError("分类表未加载 (category table missing)")

        monkeypatch.setattr(handlers, "register", categories_not_loaded)
        await publish(kafka.bootstrap, topics.INBOUND_HOTLINE, report("RX-REPLAY-1"), HUGE, partition=0,
                      max_request_size=4 * 1024 * 1024)

        async def both_parked():
            return len(await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)) == 2

        await run.wait_for(both_parked)
        letters = await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)
        [cut] = [r for r in letters if ("dlq_truncated", b"true") in r.headers]
        [good] = [r for r in letters if r is not cut]

        listed = await dlq(kafka.bootstrap, "list")
        assert listed.returncode == 0, listed.stderr
        header, *rows, last = listed.stdout.splitlines()
        assert header.split()[:3] == ["ID", "TOPIC", "PARTITION"]
        good_row = next(r for r in rows if r.startswith(letter_id(good) + " "))
        cut_row = next(r for r in rows if r.startswith(letter_id(cut) + " "))
        for row in (good_row, cut_row):
            assert topics.INBOUND_HOTLINE in row and " intake " in row
        assert "分类表未加载" in good_row and '"external_id": "RX-REPLAY-1' in good_row
        assert " no " in good_row and "yes, of 2.1 MB" in cut_row
        assert last == "2 letters on the dead-letter topic, 1 cut down (not replayable)."

        monkeypatch.undo()  # the operator fixed the cause
        for _ in range(2):
            replayed = await dlq(kafka.bootstrap, "replay", "--id", letter_id(good))
            assert replayed.returncode == 0, replayed.stderr
            assert replayed.stdout.splitlines()[-1] == "replayed 1 letter."

        refused = await dlq(kafka.bootstrap, "replay", "--id", letter_id(cut), "--id", "3:999")
        assert refused.returncode == 1
        assert f"skipped {letter_id(cut)}: it was cut down" in refused.stderr
        assert "no letter 3:999" in refused.stderr
        assert refused.stdout.strip() == "replayed 0 letters; skipped 1 that cannot be replayed; 1 not found."

        every = await dlq(kafka.bootstrap, "replay", "--all")
        assert every.returncode == 0, every.stderr
        assert every.stdout.strip() == "replayed 1 letter; skipped 1 that cannot be replayed."

        await run.wait_for(lambda: caught_up(kafka.bootstrap, "appeal-intake", [topics.INBOUND_HOTLINE]))
        operator = await run.login("U100")
        cases = await run.http.get("/api/cases", params={"external_id": "RX-REPLAY-1"}, headers=operator)
        assert cases.json()["total"] == 1
        replays = [r for r in await read_topic(kafka.bootstrap, topics.INBOUND_HOTLINE)
                   if ("dlq_replayed_from", letter_id(good).encode()) in r.headers]
        assert len(replays) == 3 and all(r.value == good.value for r in replays)
        assert len(await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)) == 2, "a replay failed again"


async def test_an_empty_dead_letter_topic(kafka):
    listed = await dlq(kafka.bootstrap, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "no letters on the dead-letter topic.\n"
    nothing = await dlq(kafka.bootstrap, "replay", "--all")
    assert nothing.returncode == 0 and nothing.stdout == "replayed 0 letters.\n"


def test_dlq_help_and_plain_errors():
    for command in (["dlq"], ["dlq", "list"], ["dlq", "replay"]):
        result = appeal(*command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, result.stderr

    unset = appeal("dlq", "list")
    assert unset.returncode == 2 and "APPEAL_KAFKA_BOOTSTRAP is not set" in unset.stderr
    unreachable = appeal("dlq", "list", env={"APPEAL_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert unreachable.returncode == 2 and "cannot reach Kafka at 127.0.0.1:1" in unreachable.stderr
    unsaid = appeal("dlq", "replay", env={"APPEAL_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert unsaid.returncode == 2 and "--id PARTITION:OFFSET" in unsaid.stderr
    bad_id = appeal("dlq", "replay", "--id", "first", env={"APPEAL_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert bad_id.returncode == 2 and "not 'first'" in bad_id.stderr
