"""`appeal dev`'s consumers, one process per service, so the system uses every core.

The serving process keeps every service's HTTP routes, outbox relay and workers (the
SLA firing loop, the auditors); each service's Kafka consumers run in a child process
of their own, as a replica of that service would in production: same consumer groups,
same database, their own outbox relay for what they write. The serving process answers
/metrics and /readyz for the whole system by asking its children. A child that dies is
started again; children end with their parent, even a killed one.

`python -m services.consumer_processes SERVICE` is the child; its settings come from
the environment the parent gives it.
"""

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from shared.embedded import free_port
from shared.processes import end_with_parent
from shared.settings import Settings

log = structlog.get_logger()

STOP_SECONDS = 15.0
RESTART_MAX_SECONDS = 5.0
ASK_SECONDS = 2.0
ORPHAN_CHECK_SECONDS = 1.0


def child_environment(settings: Settings, port: int) -> dict[str, str]:
    """The parent's settings as the variables a child reads them from."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEAL_")}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, os.PathLike):
            value = os.path.abspath(value)
        env[f"APPEAL_{name.upper()}"] = str(value)
    env["APPEAL_HTTP_PORT"] = str(port)
    return env


@dataclass
class ConsumerProcess:
    service: str
    port: int
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ConsumerProcesses:
    """The children, started, watched, asked and stopped by the serving process."""

    settings: Settings
    services: list[str]
    children: list[ConsumerProcess] = field(init=False)
    _stopping: bool = False
    _last_metrics: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.children = [ConsumerProcess(name, free_port()) for name in self.services]

    async def start(self) -> None:
        for child in self.children:
            await self._spawn(child)

    async def _spawn(self, child: ConsumerProcess) -> None:
        child.starts += 1
        child.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.consumer_processes", child.service,
            env=child_environment(self.settings, child.port), stdin=asyncio.subprocess.DEVNULL)
        log.info("consumer_process_started", service=child.service, pid=child.process.pid, port=child.port)

    async def supervise(self) -> None:
        """Start a child again when it ends, waiting longer while it keeps ending."""
        async def watch(child: ConsumerProcess) -> None:
            while not self._stopping:
                assert child.process is not None
                code = await child.process.wait()
                if self._stopping:
                    return
                log.warning("consumer_process_ended", service=child.service, code=code, starts=child.starts)
                await asyncio.sleep(min(0.5 * 2 ** min(child.starts, 4), RESTART_MAX_SECONDS))
                await self._spawn(child)

        await asyncio.gather(*(watch(child) for child in self.children))

    async def stop(self) -> None:
        self._stopping = True
        running = [c.process for c in self.children if c.process is not None and c.process.returncode is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def metrics(self) -> list[str]:
        """Each child's exposition; for a child too busy to answer in time, its last one, so
        that the system's counters never seem to go back."""
        for service, answer in (await self._ask("/metrics")).items():
            if answer is not None and answer.status_code == 200:
                self._last_metrics[service] = answer.text
        return list(self._last_metrics.values())

    async def readiness(self) -> dict[str, dict[str, Any]]:
        """Each child's /readyz body by service; a child not answering is not ready."""
        found: dict[str, dict[str, Any]] = {}
        for service, answer in (await self._ask("/readyz")).items():
            try:
                found[service] = answer.json() if answer is not None else {}
            except ValueError:
                found[service] = {}
            if not found[service]:
                found[service] = {"ready": False, "services": {service: False}, "stuck": [],
                                  "problems": [{"service": service, "consumers": "process not answering"}]}
        return found

    async def _ask(self, path: str) -> dict[str, httpx.Response | None]:
        async with httpx.AsyncClient(timeout=ASK_SECONDS) as client:
            async def ask(child: ConsumerProcess) -> httpx.Response | None:
                try:
                    return await client.get(child.url + path)
                except httpx.HTTPError:
                    return None

            answers = await asyncio.gather(*(ask(child) for child in self.children))
        return {child.service: answer for child, answer in zip(self.children, answers, strict=True)}


async def serve_consumers(settings: Settings, name: str, parent: int) -> None:
    from services.dev import http_server
    from services.running import freeze_what_startup_built
    from services.system import build_system

    system = build_system(settings, [name])
    system.services[0].runs_workers = False
    freeze_what_startup_built()
    server = http_server(system, settings.http_port, host="127.0.0.1")

    async def stop_when_orphaned() -> None:
        # Where the kernel does not end it with its parent (not Linux), it notices itself.
        while os.getppid() == parent:
            await asyncio.sleep(ORPHAN_CHECK_SECONDS)
        server.should_exit = True

    watch = asyncio.create_task(stop_when_orphaned())
    try:
        await server.serve()
    finally:
        watch.cancel()


def main() -> None:
    from services.running import run_to_the_end
    from shared.logging import configure_logging

    parent = os.getppid()
    end_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        return
    settings = Settings()
    configure_logging(settings.log_level, stream=(settings.data_dir / "appeal.log").open("a", encoding="utf-8"))
    with contextlib.suppress(KeyboardInterrupt):
        run_to_the_end(serve_consumers(settings, sys.argv[1], parent))


if __name__ == "__main__":
    main()
