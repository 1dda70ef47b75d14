"""`appeal dev` and `appeal run`: serve services over HTTP with their Kafka consumers."""

import asyncio
import contextlib
import random
import socket
import sys

import uvicorn
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.consumer_processes import ConsumerProcesses
from services.running import freeze_what_startup_built
from services.simulator import PeoplesLogins, Simulator
from services.system import SERVICE_NAMES, System, build_system
from shared.district import District
from shared.embedded import EmbeddedBroker
from shared.http import readiness
from shared.logging import configure_logging
from shared.metrics import merged_exposition
from shared.schema import SchemaError, Upgrade
from shared.schema import check as check_schema
from shared.schema import upgrade as upgrade_schema
from shared.settings import Settings, production_key_problem

SUMMARY_EVERY_SECONDS = 5.0
GRACEFUL_SHUTDOWN_SECONDS = 5
SUMMARY_METRICS = {
    "received": "appeal_cases_received_total",
    "dispatched": "appeal_cases_dispatched_total",
    "claimed": "appeal_accept_seconds_count",
    "closed": "appeal_feedback_total",
    "reopened": "appeal_feedback_total",
    "breached": "appeal_sla_breaches_total",
}


class StartupError(RuntimeError):
    """Something the user can fix; the message says what."""


def check_port_free(port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            raise StartupError(f"port {port} is already in use; choose another with --port") from None


def totals(exposition: str) -> dict[str, int]:
    """The numbers on the live summary line, summed over labels."""
    counts = dict.fromkeys(SUMMARY_METRICS, 0.0)
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            for label, name in SUMMARY_METRICS.items():
                if sample.name != name:
                    continue
                if label == "closed" and sample.labels.get("satisfied") != "true":
                    continue
                if label == "reopened" and sample.labels.get("satisfied") != "false":
                    continue
                counts[label] += sample.value
    return {k: int(v) for k, v in counts.items()}


def summary_line(counts: dict[str, int]) -> str:
    return "  ".join(f"{name} {value}" for name, value in counts.items())


def http_server(system: System, port: int, *, host: str = "0.0.0.0") -> uvicorn.Server:
    # log_config=None: the server's own lines go where configure_logging sent the rest.
    # A request still running after Ctrl-C gets a few seconds, then the services stop anyway.
    config = uvicorn.Config(system.app, host=host, port=port, log_level="warning", lifespan="on",
                            log_config=None, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
    return uvicorn.Server(config)


def sign_in_line(district: District, simulating: bool) -> str:
    people = PeoplesLogins.of(district)
    offered = [f"{role} {person.id}" for role, person in
               (("operator", people.operator), ("member", people.member), ("supervisor", people.supervisor)) if person]
    line = " · ".join(offered) + " (password demo in the sample district)"
    if simulating and people.member_branch:
        line += f"; the simulator leaves branch {people.member_branch} to you"
    return line


async def upgrade_databases(system: System) -> list[Upgrade]:
    """Every service's database to the revision this code needs, as `appeal dev` does
    before it starts them."""
    try:
        return [await upgrade_schema(service.db) for service in system.services]
    except SchemaError as error:
        raise StartupError(str(error)) from None


async def check_databases(system: System) -> None:
    """Stop before serving, with the message that says to run `appeal db upgrade`,
    rather than inside the HTTP server's startup."""
    try:
        for service in system.services:
            await check_schema(service.db)
    except SchemaError as error:
        raise StartupError(str(error)) from None


async def _wait_ready(system: System, server_task: asyncio.Task, peers: ConsumerProcesses) -> None:
    while not (await readiness(system.services, peers))["ready"]:
        if server_task.done():
            return
        await asyncio.sleep(0.2)


async def run_dev(settings: Settings, *, simulate: float, out=sys.stdout) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_file = settings.data_dir / "appeal.log"
    configure_logging(settings.log_level, stream=log_file.open("a", encoding="utf-8"))
    check_port_free(settings.http_port)
    embedded: EmbeddedBroker | None = None
    if settings.kafka_bootstrap is None:
        embedded = EmbeddedBroker(log_file=settings.data_dir / "broker.log")
        await embedded.start()
        settings = settings.model_copy(update={"kafka_bootstrap": embedded.bootstrap})
    consumers = ConsumerProcesses(settings, list(SERVICE_NAMES))
    try:
        system = build_system(settings, peers=consumers)
        freeze_what_startup_built()
        upgrades = await upgrade_databases(system)
        await consumers.start()
        helpers = [asyncio.create_task(consumers.supervise())]
        server = http_server(system, settings.http_port)
        server_task = asyncio.create_task(server.serve())
        url = f"http://127.0.0.1:{settings.http_port}"
        print(f"appeal dev — {system.context.district.district.name}", file=out)
        print(f"  HTTP        {url}  (API docs {url}/docs)", file=out)
        print(f"  Kafka       {settings.kafka_bootstrap}" + (" (embedded, in memory)" if embedded else ""), file=out)
        print(f"  data dir    {settings.data_dir.resolve()}  (logs in {log_file.name})", file=out)
        for upgrade in upgrades:
            if upgrade.changed and upgrade.before is not None:  # existing data, not a first start
                print(f"  upgraded    {upgrade}", file=out)
        print(f"  sign in     {url}/login — {sign_in_line(system.context.district, simulate > 0)}", file=out)
        await _wait_ready(system, server_task, consumers)
        if not server_task.done():
            print(f"  ready       {url}/readyz — all {len(system.services)} services consuming, each in a process "
                  "of its own", file=out, flush=True)
        helpers.append(asyncio.create_task(_summarise(system, consumers, out)))
        if simulate > 0:
            simulator = Simulator(url, settings.kafka_bootstrap or "", system.context.district, simulate,
                                  random.Random())
            helpers.append(asyncio.create_task(simulator.run()))
        try:
            await server_task
        finally:
            for task in helpers:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
    finally:
        await consumers.stop()
        if embedded is not None:
            await embedded.stop()
        print("stopped.", file=out)


async def _summarise(system: System, consumers: ConsumerProcesses, out) -> None:
    while True:
        await asyncio.sleep(SUMMARY_EVERY_SECONDS)
        exposition = merged_exposition([generate_latest(system.context.registry).decode(), *await consumers.metrics()])
        print(summary_line(totals(exposition.decode())), file=out, flush=True)


async def run_service(settings: Settings, name: str) -> None:
    if name not in SERVICE_NAMES:
        raise StartupError(f"unknown service {name!r}; choose one of {', '.join(SERVICE_NAMES)}")
    if settings.kafka_bootstrap is None:
        raise StartupError("APPEAL_KAFKA_BOOTSTRAP is not set: `appeal run` needs a running Kafka "
                           "(host:port list), or use `appeal dev` for everything in one process")
    key_problem = production_key_problem(settings)
    if key_problem:
        raise StartupError(key_problem)
    configure_logging(settings.log_level)
    check_port_free(settings.http_port)
    system = build_system(settings, [name])
    freeze_what_startup_built()
    await check_databases(system)
    server = http_server(system, settings.http_port)
    await server.serve()
