"""`appeal dev` runs each service's consumers in a process of its own: one that dies is
started again and the loop goes on; all of them end with `appeal dev`, even a killed one."""

import os
import signal
import subprocess
from pathlib import Path

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from shared.embedded import free_port
from tests.e2e.test_cli import APPEAL, _clean_env, _wait_for_line, stop_with_ctrl_c

SERVICES = ("intake", "dispatch", "claim", "sla", "feedback")


def consumer_processes(parent: int) -> dict[str, int]:
    """The service each child of ``parent`` consumes for, by its command line."""
    found = {}
    for task in Path(f"/proc/{parent}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"services.consumer_processes" in command:
                found[command[command.index(b"services.consumer_processes") + 1].decode()] = int(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"


def until(check, seconds: float, what: str) -> None:
    for attempt in Retrying(stop=stop_after_delay(seconds), wait=wait_fixed(0.3), reraise=True,
                            retry=retry_if_exception_type(AssertionError)):
        with attempt:
            assert check(), what


def test_a_consumer_process_that_dies_is_replaced_and_all_end_with_a_killed_dev(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([*APPEAL, "dev", "--port", str(port), "--data-dir", str(tmp_path / "data")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_clean_env())
    seen: list[str] = []
    try:
        _wait_for_line(process, r"ready\s+http", 90, seen)
        children = consumer_processes(process.pid)
        assert sorted(children) == sorted(SERVICES)

        os.kill(children["dispatch"], signal.SIGKILL)
        until(lambda: consumer_processes(process.pid).get("dispatch") not in (None, children["dispatch"]), 30,
              "a new dispatch consumer process")
        until(lambda: httpx.get(f"{url}/readyz").status_code == 200, 60, "ready again")

        token = httpx.post(f"{url}/api/auth/login", json={"user_id": "U100", "password": "demo"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        case = httpx.post(f"{url}/api/cases", headers=headers, json={
            "source": "hotline", "description": "南后街路灯不亮，晚上很黑", "grid_code": "G010101"}).json()
        until(lambda: httpx.get(f"{url}/api/cases/{case['case_id']}", headers=headers).json()["status"] == "dispatched",
              30, "the case dispatched by the new process")

        survivors = consumer_processes(process.pid)
        process.kill()
        process.wait()
        until(lambda: not [pid for pid in survivors.values() if alive(pid)], 20,
              f"consumer processes still running after appeal dev was killed: {survivors}")
    finally:
        if process.poll() is None:
            stop_with_ctrl_c(process)
        elif process.stdout is not None:
            process.stdout.close()
