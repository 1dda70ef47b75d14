"""The system as operators deploy it: each service its own `appeal run` process, sharing
one broker and one database, that a test can kill and start again."""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.system import SERVICE_NAMES
from shared.embedded import free_port

APPEAL = str(Path(sys.executable).parent / "appeal")


def deployment_env(bootstrap: str, database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """What every process of one deployment shares; nothing from the test's own environment."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")},
            "APPEAL_KAFKA_BOOTSTRAP": bootstrap, "APPEAL_DATABASE_URL": database_url,
            "APPEAL_SECRET_KEY": secrets.token_urlsafe(48), "APPEAL_DATA_DIR": str(data_dir),
            "APPEAL_KAFKA_SESSION_TIMEOUT_MS": "2000", "APPEAL_SLA_POLL_SECONDS": "0.2",
            "APPEAL_OUTBOX_POLL_SECONDS": "0.2", **extra}


def appeal(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APPEAL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            env = {**self.env, "APPEAL_HTTP_PORT": str(self.port)}
            self.process = subprocess.Popen([APPEAL, "run", self.name], env=env, stdout=out, stderr=out,
                                            stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        """As a crash: no cleanup, whatever was in flight is cut off."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def until_ready(self, timeout: float = 90) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=5) as http:
            while asyncio.get_running_loop().time() < deadline:
                assert self.process is not None and self.process.poll() is None, \
                    f"{self.name} exited: {self.log.read_text(errors='replace')[-3000:]}"
                try:
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name} did not become ready within {timeout}s")


@contextmanager
def deployment(env: dict[str, str], logs: Path) -> Iterator[dict[str, ServiceProcess]]:
    """All five services started, each its own process; stopped however the test ends."""
    services = {name: ServiceProcess(name, env, logs / f"{name}.log") for name in SERVICE_NAMES}
    try:
        for service in services.values():
            service.start()
        yield services
    finally:
        for service in services.values():
            service.stop()
