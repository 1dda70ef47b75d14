"""A PostgreSQL server of the test's own, in a temporary directory, that the test may
stop and start again: outages are never practised on the shared server."""

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from shared.embedded import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found under /usr/lib/postgresql/*/bin: install the postgresql package")
    return found[-1]


def _as_postgres() -> list[str]:
    """initdb and the server refuse to run as root, which tests and CI are."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivatePostgres:
    """Lives in a directory of its own under the system's temporary directory: the server
    runs as ``postgres`` and could not reach one inside root's pytest directories."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="appeal-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        result = subprocess.run([*_as_postgres(), *command], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr or result.stdout}")

    def initialise(self) -> "PrivatePostgres":
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "server.log"),
                  "-w", "start")

    def stop(self) -> None:
        """As an outage looks to the services: open connections are cut."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        subprocess.run([*_as_postgres(), _bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
