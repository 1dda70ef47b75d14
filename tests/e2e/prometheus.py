"""A real Prometheus (Debian's package) scraping the system, asked through its HTTP API."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.embedded import free_port

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus-rules.yml"


@dataclass
class Prometheus:
    url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result; a query Prometheus refuses fails the test with its error."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert answer["status"] == "success", f"{expr}: {answer.get('error')}"
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def rules(self) -> list[dict[str, Any]]:
        groups = httpx.get(f"{self.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    def wait_for(self, expr: str, check: Any, timeout: float) -> float | None:
        """Polls an expression's single value until ``check(value)`` holds."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.value(expr)
            if seen is not None and check(seen):
                return seen
            time.sleep(1)
        raise AssertionError(f"{expr} never passed its check within {timeout}s; last {seen}")


@contextmanager
def prometheus_scraping(target: str, workdir: Path, *, job: str = "appeal",
                        interval: str = "2s") -> Iterator[Prometheus]:
    """Prometheus with the deploy/ alert rules, scraping ``target`` as one job, as the
    deploy README says to scrape `appeal dev`."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus package is not installed (apt-get install prometheus)")
    config = {"global": {"scrape_interval": interval, "evaluation_interval": interval},
              "rule_files": [str(RULES)],
              "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT)
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{server.url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (
                f"Prometheus did not start: {(workdir / 'prometheus.log').read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
