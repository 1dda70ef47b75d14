"""The `appeal` command as a user runs it: real processes, real ports, Ctrl-C."""

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared import topics
from shared.embedded import free_port
from shared.settings import INSECURE_DEV_KEY
from tests.integration.harness import district_file, publish

pytestmark = pytest.mark.e2e
APPEAL = [str(Path(sys.executable).parent / "appeal")]
MOBILE = re.compile(r"(?<![\d*])1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
"""A full mobile number as the simulator writes them into free text: plain, spaced, dashed."""
TOKEN = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.")
PHONES_EVERYWHERE = json.dumps({
    "source": "hotline", "external_id": "RX-PHONES-1", "description": "楼道漏水，请回电 13800000002",
    "citizen_name": "李先生 13800000003", "address": "南后街 138-0000-0004 号", "citizen_phone": "13800000005",
    "grid_code": "网格员电话13800000006"}, ensure_ascii=False).encode()
"""A report refused for a grid the district does not have, with numbers in every text
field: it is dead-lettered, and the log line saying so quotes the value it refused."""


def appeal(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*APPEAL, *args], capture_output=True, text=True, timeout=timeout,
                          env={**_clean_env(), **(env or {})})


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}


def _wait_for_line(process: subprocess.Popen[str], pattern: str, timeout: float, seen: list[str]) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"no line matching {pattern!r} within {timeout}s; got:\n{''.join(seen)}")


def stop_with_ctrl_c(process: subprocess.Popen[str], timeout: float = 30) -> None:
    """Ctrl-C, as a person stops `appeal dev`; killed if it has not ended within the timeout."""
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_every_command_has_help():
    for command in ([], ["dev"], ["run"]):
        result = appeal(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_plain_errors_and_non_zero_exit(tmp_path):
    unknown = appeal("run", "billing", env={"APPEAL_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert unknown.returncode == 2 and "unknown service 'billing'" in unknown.stderr
    no_kafka = appeal("run", "intake")
    assert no_kafka.returncode == 2 and "APPEAL_KAFKA_BOOTSTRAP is not set" in no_kafka.stderr
    broken = tmp_path / "district.yaml"
    broken.write_text("district: {code: '1', name: 测试区}\nsla: {normal: {accept: soon, respond: 1h}}\n",
                      encoding="utf-8")
    bad_district = appeal("dev", "--district", str(broken), "--data-dir", str(tmp_path / "data"),
                          "--port", str(free_port()))
    assert bad_district.returncode == 2
    assert "sla.normal.accept" in bad_district.stderr and "soon" in bad_district.stderr


@pytest.mark.parametrize("key", [None, INSECURE_DEV_KEY, "short-but-not-empty-0123456789X"],
                         ids=["unset", "development-key", "31-bytes"])
def test_run_refuses_a_key_anyone_could_forge_tokens_with(key, tmp_path):
    env = {"APPEAL_KAFKA_BOOTSTRAP": "127.0.0.1:1", "APPEAL_DATA_DIR": str(tmp_path),
           "APPEAL_HTTP_PORT": str(free_port()), **({"APPEAL_SECRET_KEY": key} if key is not None else {})}
    refused = appeal("run", "claim", env=env, timeout=30)
    assert refused.returncode == 2, refused.stderr
    [sentence] = [line for line in refused.stderr.splitlines() if line.strip()]
    assert "APPEAL_SECRET_KEY" in sentence
    assert not list(tmp_path.iterdir()), "it started before refusing"


def test_dev_runs_the_loop_and_stops_cleanly_on_ctrl_c(tmp_path: Path):
    """An hour of the loop compressed: 3 s to accept and 8 s to respond, so warnings,
    breaches, escalations, ratings and reopenings all happen and all reach the log."""
    port = free_port()
    data_dir = tmp_path / "data"
    compressed = district_file(tmp_path, accept="3s", respond="8s")
    process = subprocess.Popen([*APPEAL, "dev", "--simulate", "5", "--port", str(port), "--data-dir", str(data_dir),
                                "--district", str(compressed)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_clean_env())
    seen: list[str] = []
    try:
        broker_port = int(_wait_for_line(process, r"Kafka\s+127\.0\.0\.1:(\d+)", 30, seen).group(1))
        _wait_for_line(process, r"ready\s+http", 60, seen)
        asyncio.run(publish(f"127.0.0.1:{broker_port}", topics.INBOUND_HOTLINE, PHONES_EVERYWHERE))
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        _wait_for_line(process, r"received [1-9]\d*\s+dispatched [1-9]\d*\s+claimed [1-9]", 60, seen)
        _wait_for_line(process, r"closed [1-9]\d*\s+reopened \d+\s+breached [1-9]", 90, seen)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        for name in ("appeal_cases_received_total", "appeal_cases_dispatched_total", "appeal_accept_seconds_bucket",
                     "appeal_open_cases", "appeal_sla_timers_pending"):
            assert name in metrics
        assert 'le="600.0"' in metrics and 'le="3600.0"' in metrics
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        seen.append(rest)
    assert process.returncode == 0, "".join(seen)
    assert "stopped." in rest
    assert not _port_open(port) and not _port_open(broker_port), "Ctrl-C left a server listening"
    log = (data_dir / "appeal.log").read_text(encoding="utf-8")
    for event in ("service_started", "sla_breached", "sla_timers_fired", "message_dead_lettered"):
        assert event in log, event
    assert not MOBILE.search(log), f"a full phone number reached the log: {MOBILE.search(log)}"
    assert not TOKEN.search(log), "a sign-in token reached the log"
    assert '"password"' not in log and "demo" not in log, "a password reached the log"
    with sqlite3.connect(data_dir / "intake.db") as intake:
        codes = [code for (code,) in intake.execute("SELECT tracking_code FROM intake_case")]
    assert codes and not [code for code in codes if code in log], "a tracking code reached the log"
    with sqlite3.connect(data_dir / "claim.db") as claim:
        raced = claim.execute("SELECT count(*) FROM claim_task WHERE branch_code = 'B0101' AND member_id IS NOT NULL")
        assert raced.fetchone()[0] == 0, "the simulator claimed tasks of the branch offered to people trying the pages"
        others = claim.execute("SELECT count(*) FROM claim_task WHERE branch_code != 'B0101' AND member_id IS NOT NULL")
        assert others.fetchone()[0] > 0


def test_run_serves_one_service_with_metrics(tmp_path, kafka):
    port = free_port()
    env = {**_clean_env(), "APPEAL_KAFKA_BOOTSTRAP": kafka.bootstrap, "APPEAL_HTTP_PORT": str(port),
           "APPEAL_DATA_DIR": str(tmp_path), "APPEAL_KAFKA_SESSION_TIMEOUT_MS": "2000",
           "APPEAL_SECRET_KEY": secrets.token_urlsafe(48)}
    upgraded = appeal("db", "upgrade", env={"APPEAL_DATA_DIR": str(tmp_path)})
    assert upgraded.returncode == 0, upgraded.stderr
    process = subprocess.Popen([*APPEAL, "run", "dispatch"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
            time.sleep(0.2)
        else:
            raise AssertionError("dispatch never became ready")
        assert "appeal_cases_dispatched_total" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert (tmp_path / "dispatch.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
