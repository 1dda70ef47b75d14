"""`appeal bench sla` as a user runs it, small enough for the suite; no timing asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.bench.sla import on_time_rate

pytestmark = pytest.mark.e2e
APPEAL = str(Path(sys.executable).parent / "appeal")


def test_bench_sla_fires_every_timer_once_and_ends_with_json():
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    result = subprocess.run(
        [APPEAL, "bench", "sla", "--pending", "3000", "--due", "500", "--window", "2", "--burst", "300",
         "--database-url", "sqlite"],
        check=False, capture_output=True, text=True, timeout=90, env=env)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "sqlite"
    assert report["fired"] == 500 and report["burst_fired"] == 300
    assert report["fired_once"] is True
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
