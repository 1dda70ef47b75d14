"""The system under test for `appeal bench e2e`: `appeal dev` as a child process on the
bench's own broker and database, watched over HTTP the way Prometheus would."""

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.bench.dispatches import reporting
from services.bench.sla import answers_ready, metric_total, wait_until
from services.bench.sla_worker import peak_rss_mb
from shared.district import bundled_district_path
from shared.embedded import free_port
from shared.processes import end_with_parent

READY_SECONDS = 120.0
STOP_SECONDS = 30.0
POLL_SECONDS = 0.05
BROKER_FETCH_WAIT_MS = 100
"""As `appeal dev` on its own broker: the bench's broker is Tansu too (services/cli.py)."""
SLA_GROUP = "appeal-sla"
"""The sla service's consumer group (services/sla/handlers.py); it commits a dispatch's
offset after the transaction that wrote the dispatch's timers."""


@dataclass
class DevSystem:
    process: asyncio.subprocess.Process
    port: int
    log: Path
    http: httpx.AsyncClient

    async def metric(self, name: str) -> float:
        return await metric_total(self.http, self.port, name)

    def peak_rss_mb(self) -> float:
        """The sum of its processes' high-water marks (it runs each service's consumers in
        a process of its own; the embedded broker is the bench's, not its)."""
        return round(sum(peak_rss_mb(pid) for pid in self.pids()), 1)

    def rss_mb(self) -> float:
        """Resident now (``statm``), summed over its processes."""
        pages = 0
        for pid in self.pids():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/statm") as statm:
                pages += int(statm.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)

    def pids(self) -> list[int]:
        return [self.process.pid, *descendants(self.process.pid)]

    async def until(self, probe: Callable[[], Awaitable[bool]], deadline: float, what: str) -> None:
        await wait_until(probe, deadline - time.monotonic(), self.process, what, child_name="appeal dev",
                         every=POLL_SECONDS)


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *descendants(int(child))]
    return found


def unhurried_district(directory: Path) -> Path:
    """The sample district with deadlines weeks away. No timer falls due while the bench
    runs, so none fires and no case expires and is dispatched again: the sla service's
    pending timers are then exactly one of each kind per case dispatched."""
    district = yaml.safe_load(bundled_district_path().read_text(encoding="utf-8"))
    for policy in district["sla"].values():
        policy.update(accept="30d", respond="60d")
    path = directory / "district.yaml"
    path.write_text(yaml.safe_dump(district, allow_unicode=True), encoding="utf-8")
    return path


@asynccontextmanager
async def dev_system(bootstrap: str, database_url: str, directory: Path) -> AsyncIterator[DevSystem]:
    """`appeal dev` on ``bootstrap`` and ``database_url``, ready (every service consuming);
    stopped with Ctrl-C afterwards, killed if it has not ended within ``STOP_SECONDS``, and
    sent SIGTERM by the kernel should the bench itself be killed."""
    port = free_port()
    log = directory / "appeal-dev.out"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")},
           "APPEAL_KAFKA_BOOTSTRAP": bootstrap, "APPEAL_DATABASE_URL": database_url, "APPEAL_LOG_LEVEL": "WARNING",
           "APPEAL_KAFKA_FETCH_WAIT_MS": str(BROKER_FETCH_WAIT_MS)}
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", "dev", "--port", str(port), "--data-dir", str(directory),
            "--district", str(unhurried_district(directory)), env=env, stdout=output, stderr=output,
            preexec_fn=end_with_parent)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            system = DevSystem(process, port, log, http)
            started = time.monotonic()
            async with reporting(lambda: f"waiting for appeal dev to be ready, {time.monotonic() - started:.0f} s"):
                await system.until(lambda: answers_ready(http, port), started + READY_SECONDS,
                                   f"GET /readyz to answer 200; its output is in {log}")
            yield system
    finally:
        await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), STOP_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


async def until_sla_consumed(system: DevSystem, bootstrap: str, ends: dict[TopicPartition, int],
                             deadline: float) -> None:
    """Until the sla service's consumer group has committed every dispatch before
    ``ends``: it commits a dispatch only after the transaction that armed its timers, so
    that is when they are armed. Its pending-timer gauge says the same, but only when the
    auditor next counts, every 10 s."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()

    async def caught_up() -> bool:
        committed = await admin.list_consumer_group_offsets(SLA_GROUP, partitions=list(ends))
        return all(p in committed and committed[p].offset >= end for p, end in ends.items())

    try:
        await system.until(caught_up, deadline, f"the sla service's consumer group {SLA_GROUP} to commit every "
                                                f"dispatch (is that still its group? services/sla/handlers.py)")
    finally:
        await admin.close()
