"""SQLite connections that run their statements in the event loop.

aiosqlite hands every statement to a thread of its own and waits for the answer: two
thread switches and a round for the GIL per statement, which cost more than the statement
itself on a local file. A service's SQLite connection is the only one its process has on
its file (``shared.db`` pools exactly one) and the file is in WAL mode, so a statement
never waits for another writer of the same process; run where it is called, it takes
microseconds. Measured with every service on one event loop: about twice the cases a
second (docs/performance.md).

SQLite's own busy handler would sleep inside the statement, and with it the event loop:
a second connection to the same file in the same loop (two replicas of a service run
together, as the tests do) would then wait for a writer that can never go on. So the
connection has no busy timeout, and a statement refused as busy is tried again after an
``asyncio.sleep``, for up to the given patience, while the writer holding the lock
finishes.
"""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite


class _RunAtOnce:
    """Stands in for the queue aiosqlite's thread would take work from: runs it as it is
    put (SQLAlchemy's dialect puts work on that queue directly too)."""

    def put_nowait(self, item: tuple[asyncio.Future | None, Callable[[], Any]]) -> None:
        future, work = item
        try:
            result = work()
        except BaseException as error:  # handed to the waiting caller, as the thread would
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, which SQLAlchemy's aiosqlite dialect drives, minus the thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], patience_seconds: float) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunAtOnce()  # type: ignore[assignment]  # the same put_nowait, run at once
        self._patience_seconds = patience_seconds

    def __await__(self):
        return self._connect().__await__()

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        waited, pause = 0.0, 0.001
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                # A busy statement took no effect, so it can be run again.
                busy = getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or waited >= self._patience_seconds:
                    raise
            await asyncio.sleep(pause)
            waited, pause = waited + pause, min(pause * 2, 0.05)


def inline_connector(path: str, patience_seconds: float) -> Callable[[], Awaitable[InlineConnection]]:
    """For ``create_async_engine(async_creator=...)``."""

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=0, check_same_thread=False)

    async def create() -> InlineConnection:
        return await InlineConnection(connect, patience_seconds)

    return create
