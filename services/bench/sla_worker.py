"""The SLA firing loop alone in its own process, for `appeal bench sla`.

Built as the service builds it, minus the broker: outbox rows are written but never
published, so they stay in the table. Prints ``{"ready": true}`` once connected, then
one JSON line with what it fired, when the last of it committed (``done_at``, Unix
seconds) and its peak RSS when ``--expect`` timers have fired or ``--timeout`` has passed.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import sys
import time

from prometheus_client import CollectorRegistry
from sqlalchemy import text

from services.sla.firing import FiringLoop
from services.sla.metrics import SlaMetrics
from services.sla.store import TABLES
from shared.clock import SystemClock
from shared.idempotency import UnitOfWork
from shared.logging import configure_logging
from shared.runtime import service_database
from shared.settings import Settings


def fired_total(metrics: SlaMetrics) -> int:
    return int(sum(sample.value for counter in (metrics.deadlines, metrics.warnings)
                   for family in counter.collect() for sample in family.samples if sample.name.endswith("_total")))


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's own high-water mark (``VmHWM``). Not ``ru_maxrss``: Linux carries the
    parent's peak across fork and exec into it, so it reported the bench process's peak
    from filling the table, not the loop's."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        if pid != "self":
            return math.nan
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


async def fire(database_url: str, expect: int, timeout: float) -> dict:
    settings = Settings(database_url=database_url)
    db = service_database(settings, "sla", TABLES, database_url)
    metrics = SlaMetrics.register(CollectorRegistry())
    loop = FiringLoop(UnitOfWork(db, None, consumer="sla"), SystemClock(), metrics,
                      poll_seconds=settings.sla_poll_seconds, database_time=not db.is_sqlite)
    async with db.session() as session:
        await session.execute(text("SELECT 1"))
    print(json.dumps({"ready": True}), flush=True)
    task = asyncio.create_task(loop.run())
    deadline = time.monotonic() + timeout
    try:
        while fired_total(metrics) < expect and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.01)
        # Counted after each commit, so this is when the last timer's event was durable.
        done_at = time.time()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.dispose()
    return {"fired_seen": fired_total(metrics), "timed_out": fired_total(metrics) < expect,
            "done_at": done_at, "rss_mb": round(peak_rss_mb(), 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True)
    args = parser.parse_args(argv)
    # Logged at the service's level, as in production, but nowhere a reader would look.
    configure_logging(Settings().log_level, stream=open(os.devnull, "w"))  # noqa: SIM115
    result = asyncio.run(fire(args.database_url, args.expect, args.timeout))
    print(json.dumps(result), flush=True)
    sys.exit(0 if not result["timed_out"] else 1)


if __name__ == "__main__":
    main()
