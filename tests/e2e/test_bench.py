"""`appeal bench sla`, `appeal bench e2e` and `appeal bench consumers` as a user runs them,
small enough for the suite; no timing asserted."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.bench.sla import on_time_rate

pytestmark = pytest.mark.e2e
APPEAL = str(Path(sys.executable).parent / "appeal")


def test_bench_sla_fires_every_timer_once_and_ends_with_json(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    kept = tmp_path / "outbox.jsonl"
    result = subprocess.run(
        [APPEAL, "bench", "sla", "--pending", "3000", "--due", "500", "--window", "2", "--burst", "300",
         "--database-url", "sqlite", "--keep-outbox", str(kept)],
        check=False, capture_output=True, text=True, timeout=90, env=env)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "sqlite"
    assert report["fired"] == 500 and report["burst_fired"] == 300
    assert report["fired_once"] is True
    # Checked here from the rows themselves, not from the bench's verdict: one event per timer, each once.
    rows = [json.loads(line) for line in kept.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 500 + 300
    assert len({row["event_id"] for row in rows}) == len(rows), "an event id twice: a timer fired again"
    timers = {(row["payload"]["case_id"], row["payload"]["type"], row["payload"].get("stage")) for row in rows}
    assert len(timers) == len(rows), "a timer's event twice under another id"
    assert {row["topic"] for row in rows} == {"appeal.sla.events"}
    assert report["offered_per_s"] == 250 and 0 <= report["fired_per_s"] <= 250
    assert report["rss_mb"] > report["loop_rss_mb"] > 0, "the whole service runs more than the loop"
    assert "filled" in result.stderr


def test_fired_per_s_counts_only_timers_fired_within_the_lag_target_per_second_of_window():
    assert on_time_rate([0.0, 0.2, 1.0, 1.01, 7.5], window=2, limit=1.0) == 1.5
    assert on_time_rate([0.1] * 20_000, window=10, limit=1.0) == 2000.0, "all on time: the offered rate"
    assert on_time_rate([], window=10, limit=1.0) == 0.0


def test_bench_sla_refuses_more_due_than_pending():
    result = subprocess.run([APPEAL, "bench", "sla", "--pending", "10", "--due", "20", "--database-url", "sqlite"],
                            check=False, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert "--due" in result.stderr


E2E_KEYS = {"cases", "dispatched", "cases_per_s", "cases_per_s_pg", "raw_produce_per_s", "raw_consume_per_s",
            "naive_per_s", "p50_ms_at_500", "p99_ms_at_500", "burst_drain_s", "rss_mb", "targets", "phases"}


def test_bench_e2e_dispatches_every_case_of_every_phase_and_ends_with_json():
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    result = subprocess.run(
        [APPEAL, "bench", "e2e", "--database-url", "sqlite", "--cases", "200", "--loads", "20", "--load-seconds", "2",
         "--burst", "100", "--timeout", "120"],
        check=False, capture_output=True, text=True, timeout=900, env=env)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not E2E_KEYS - report.keys(), f"missing {E2E_KEYS - report.keys()}"
    phases = {phase["phase"]: phase for phase in report["phases"]}
    assert {name: phase["written"] for name, phase in phases.items()} == {"throughput": 200, "load_20": 40,
                                                                          "burst": 100}
    assert all(phase["dispatched"] == phase["written"] for phase in phases.values())
    assert report["cases"] == report["dispatched"] == 340
    assert report["timers_pending"] == report["timers_expected"] == 4 * 200, "four timers a dispatched case"
    rates = ("cases_per_s", "raw_produce_per_s", "raw_consume_per_s", "naive_per_s", "p50_ms_at_20", "p99_ms_at_20",
             "burst_drain_s", "rss_mb")
    assert all(report[key] > 0 for key in rates), {key: report[key] for key in rates}
    assert report["cases_per_s_pg"] is None and report["p99_ms_at_500"] is None
    assert set(report["targets"]) == {"cases_per_s", "cases_per_s_pg", "p99_ms_at_500", "burst_drain_s"}
    assert re.search(r"sqlite throughput: 200 of 200 dispatched with their timers armed in [\d.,]+ s", result.stderr)
    assert "sqlite burst: 100 of 100 dispatched" in result.stderr


def test_bench_e2e_refuses_loads_that_are_not_rates():
    result = subprocess.run([APPEAL, "bench", "e2e", "--loads", "fast", "--database-url", "sqlite"],
                            check=False, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert "--loads" in result.stderr


CONSUMER_FIGURES = {"intake.inbound", "intake.relay", "dispatch.registered", "feedback.registered",
                    "intake.timeline.registered", "dispatch.relay", "claim.dispatch", "sla.dispatch",
                    "intake.timeline.dispatch"}


def test_bench_consumers_drives_each_consumer_with_every_case_and_ends_with_json():
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    result = subprocess.run([APPEAL, "bench", "consumers", "--events", "60", "--database-url", "sqlite"],
                            check=False, capture_output=True, text=True, timeout=120, env=env)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {key.removesuffix("_us") for key in report if key.endswith("_us")} == CONSUMER_FIGURES | {"case"}
    assert all(report[f"{name}_us"] > 0 for name in CONSUMER_FIGURES)
    for name in CONSUMER_FIGURES:  # every report registered, relayed, dispatched and armed
        assert f"{name}: 60 events," in result.stderr, name
