"""`appeal bench e2e`: cases a second through the whole system, from a report on an
inbound topic to its dispatch to a branch with the SLA timers armed.

The system is `appeal dev` in a child process, on a broker the bench started (Tansu)
and a database of its own: SQLite always, PostgreSQL too when a server is named; each
backend gets a fresh broker and a fresh system. On each, the bench writes fresh reports
in three phases: as fast as it can (``cases_per_s``, until every case is dispatched and
the sla service has committed its timers), at fixed offered loads (latency percentiles)
and all at once (``burst_drain_s``); optionally a long run for memory growth. On the
SQLite run's broker, before the system starts, it also measures what raw aiokafka and a
naive FastStream relay manage, the ceiling and the floor the figures sit between.
"""

import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer

from services.bench.dev_child import DevSystem, dev_system, until_sla_consumed
from services.bench.dispatches import DispatchWatch, Report, ReportMaker, ReportWriter, reporting
from services.bench.e2e_results import TARGETS, BackendFigures, Targets, assemble, load_key, summary
from services.bench.kafka_limits import naive_floor, raw_ceiling
from services.bench.sla import bench_database, is_postgres, percentile, progress
from services.sla.deadlines import TimerKind
from shared.district import load_district
from shared.embedded import EmbeddedBroker
from shared.settings import Settings

TIMERS_PER_CASE = len(TimerKind)
"""A dispatch arms one timer of each kind (services/sla/deadlines.py ``plan_timers``)."""
SYSTEM_PARTITIONS: int = Settings.model_fields["kafka_partitions"].default
"""The bench passes the child no APPEAL_KAFKA_PARTITIONS, so its topics get the default
count; the bench's own topics get the same."""
MEMORY_CHUNK = 10_000
PENDING_TIMERS = "appeal_sla_timers_pending"

Write = Callable[[list[Report], dict[str, float]], Awaitable[None]]


@dataclass(frozen=True)
class Plan:
    cases: int = 20_000
    loads: tuple[float, ...] = (100.0, 500.0, 2000.0)
    load_seconds: float = 10.0
    burst: int = 10_000
    timeout: float = 600.0
    memory_cases: int = 0

    def check(self) -> None:
        if self.cases < 1 or self.burst < 1 or self.memory_cases < 0:
            raise ValueError("--cases and --burst must be at least 1, --memory-cases at least 0")
        if self.load_seconds <= 0 or self.timeout <= 0:
            raise ValueError("--load-seconds and --timeout must be positive")

    def load_cases(self, rate: float) -> int:
        return max(1, round(rate * self.load_seconds))


@dataclass(frozen=True)
class Phase:
    name: str
    written: int
    dispatched: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)

    def record(self, backend: str) -> dict:
        return {"backend": backend, "phase": self.name, "written": self.written, "dispatched": self.dispatched,
                "seconds": round(self.seconds, 3)}


def parse_loads(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(rate) for rate in text.split(","))
    except ValueError:
        rates = ()
    if not rates or min(rates) <= 0:
        raise ValueError(f"--loads must be cases a second separated by commas, like 100,500,2000, not {text!r}")
    return rates


class BackendRun:
    """The phases on one backend's system, one after another."""

    def __init__(self, backend: str, plan: Plan, system: DevSystem, bootstrap: str, writer: ReportWriter) -> None:
        self.backend = backend
        self.plan = plan
        self.system = system
        self.bootstrap = bootstrap
        self.writer = writer
        self.maker = ReportMaker(load_district(None))
        self.phases: list[Phase] = []
        self.figures: dict = {}
        self.watch: DispatchWatch | None = None

    async def run(self) -> None:
        await self.throughput()
        for rate in self.plan.loads:
            await self.offered_load(rate)
        burst = await self.phase("burst", self.plan.burst, self.writer.write_all)
        self.figures["burst_drain_s"] = round(burst.seconds, 3)
        if self.plan.memory_cases:
            await self.memory()
        self.figures["rss_mb"] = self.system.peak_rss_mb()

    def figures_of_run(self) -> BackendFigures:
        return BackendFigures(self.backend, self.figures, [phase.record(self.backend) for phase in self.phases])

    async def throughput(self) -> None:
        """The first phase, so the sla service's pending timers should then be exactly its
        cases' timers: its gauge is read to confirm that no timer went missing."""
        phase = await self.phase("throughput", self.plan.cases, self.writer.write_all, then=self._timers_committed)
        self.figures["cases_per_s"] = round(phase.written / phase.seconds, 1)
        expected = TIMERS_PER_CASE * phase.dispatched
        label = f"{self.backend} throughput"
        async with reporting(lambda: f"{label}: waiting for {PENDING_TIMERS} to show {expected:,} "
                                     "(the sla auditor refreshes it every 10 s)"):
            await self.system.until(lambda: self._metric_reaches(PENDING_TIMERS, expected),
                                    time.monotonic() + self.plan.timeout, f"{PENDING_TIMERS} to reach {expected:,}")
        self.figures.update(timers_pending=int(await self.system.metric(PENDING_TIMERS)), timers_expected=expected)

    async def offered_load(self, rate: float) -> None:
        count = self.plan.load_cases(rate)
        phase = await self.phase(f"load_{load_key(rate)}", count,
                                 lambda reports, written: self.writer.write_paced(reports, rate, written))
        self.figures[f"p50_ms_at_{load_key(rate)}"] = round(percentile(phase.latencies_ms, 0.50), 1)
        self.figures[f"p99_ms_at_{load_key(rate)}"] = round(percentile(phase.latencies_ms, 0.99), 1)

    async def memory(self) -> None:
        """Chunk after chunk, each written once the one before is dispatched: paced at
        what the system drains, never a backlog that would measure the broker instead."""
        total = self.plan.memory_cases
        chunk = max(1, min(MEMORY_CHUNK, total // 10))
        done, seconds, at_tenth = 0, 0.0, None
        label = f"{self.backend} memory"
        async with reporting(lambda: f"{label}: {done + (self.watch.count if self.watch else 0):,}/{total:,} "
                                     f"dispatched, RSS {self.system.rss_mb():,.0f} MB"):
            while done < total:
                part = await self.measure("memory", min(chunk, total - done), self.writer.write_all)
                done, seconds = done + part.dispatched, seconds + part.seconds
                if at_tenth is None and done >= total / 10:
                    at_tenth = self.system.rss_mb()
        at_end = self.system.rss_mb()
        self.phases.append(Phase("memory", total, done, seconds, []))
        self.figures.update(rss_mb_at_10pct=at_tenth, rss_mb_at_end=at_end,
                            rss_growth=round(at_end / at_tenth, 2) if at_tenth else None)

    async def phase(self, name: str, count: int, write: Write,
                    then: Callable[[DispatchWatch, float], Awaitable[float]] | None = None) -> Phase:
        label = f"{self.backend} {name}"
        started = time.monotonic()

        def describe() -> str:
            done = self.watch.count if self.watch else 0
            rate = done / (time.monotonic() - started)
            waiting = ", waiting for the sla service to commit their timers" if then and done == count else ""
            return f"{label}: {done:,}/{count:,} dispatched, {rate:,.0f}/s{waiting}"

        async with reporting(describe):
            phase = await self.measure(name, count, write, then)
        self.phases.append(phase)
        progress(f"{label}: {phase.dispatched:,} of {phase.written:,} dispatched"
                 f"{' with their timers armed' if then else ''} in {phase.seconds:,.1f} s")
        return phase

    async def measure(self, name: str, count: int, write: Write,
                      then: Callable[[DispatchWatch, float], Awaitable[float]] | None = None) -> Phase:
        """Write ``count`` fresh reports with ``write`` and wait until the bench has seen
        every one dispatched (and, with ``then``, until what ``then`` waits for); the
        phase lasts from the first write to the last dispatch, or to ``then``'s end."""
        label = f"{self.backend} {name}"
        reports = self.maker.make(count)
        written: dict[str, float] = {}
        deadline = time.monotonic() + self.plan.timeout
        async with DispatchWatch(self.bootstrap, {r.external_id for r in reports}) as watch:
            self.watch = watch
            await write(reports, written)
            await watch.until_all_dispatched(deadline, label)
            ended = await then(watch, deadline) if then else max(watch.dispatched_at.values())
            self.watch = None
        latencies = sorted((watch.dispatched_at[e] - at) * 1000 for e, at in written.items())
        return Phase(name, len(reports), watch.count, ended - min(written.values()), latencies)

    async def _metric_reaches(self, name: str, expected: float) -> bool:
        return await self.system.metric(name) >= expected

    async def _timers_committed(self, watch: DispatchWatch, deadline: float) -> float:
        await until_sla_consumed(self.system, self.bootstrap, await watch.dispatch_positions(), deadline)
        return time.monotonic()


@asynccontextmanager
async def embedded_broker(directory: Path) -> AsyncIterator[str]:
    broker = EmbeddedBroker(log_file=directory / "broker.log")
    await broker.start()
    try:
        yield broker.bootstrap
    finally:
        await broker.stop()


@asynccontextmanager
async def producing(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def bench_backend(url: str, plan: Plan, directory: Path, *, with_limits: bool) -> tuple[BackendRun, dict]:
    backend = "postgresql" if is_postgres(url) else "sqlite"
    directory.mkdir()
    async with bench_database(url) as database_url, embedded_broker(directory) as bootstrap:
        limits = await kafka_limits(bootstrap, plan) if with_limits else {}
        progress(f"{backend}: starting appeal dev (logs in {directory})")
        async with dev_system(bootstrap, database_url, directory) as system, producing(bootstrap) as producer:
            run = BackendRun(backend, plan, system, bootstrap, ReportWriter(producer))
            await run.run()
    return run, limits


async def kafka_limits(bootstrap: str, plan: Plan) -> dict:
    payload = ReportMaker(load_district(None)).make(1)[0].value
    progress(f"ceiling: raw aiokafka, {plan.cases:,} messages of {len(payload)} bytes")
    limits = await raw_ceiling(bootstrap, SYSTEM_PARTITIONS, payload, plan.cases, plan.timeout)
    progress(f"floor: a naive FastStream relay, {plan.cases:,} messages")
    return {**limits, **await naive_floor(bootstrap, SYSTEM_PARTITIONS, payload, plan.cases, plan.timeout)}


async def bench_e2e(database_url: str, plan: Plan, targets: Targets = TARGETS) -> dict:
    """SQLite always; PostgreSQL as well when ``database_url`` names a server."""
    plan.check()
    urls = ["sqlite", *([database_url] if is_postgres(database_url) else [])]
    directory = Path(tempfile.mkdtemp(prefix="appeal-bench-e2e-"))
    try:
        runs = [await bench_backend(url, plan, directory / f"backend{i}", with_limits=i == 0)
                for i, url in enumerate(urls)]
    except BaseException:
        progress(f"the systems' logs are kept in {directory}")
        raise
    shutil.rmtree(directory, ignore_errors=True)
    settings = {"loads": list(plan.loads), "load_seconds": plan.load_seconds, "burst": plan.burst,
                "memory_cases": plan.memory_cases}
    result = assemble([run.figures_of_run() for run, _ in runs], runs[0][1], settings, targets)
    progress(summary(result))
    return result
