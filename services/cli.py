"""The `appeal` command."""

import asyncio
import json
import os
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from services.dev import StartupError, run_dev, run_service
from services.intake.report import render_csv, render_table
from services.intake.reporting import gather_report
from services.running import run_to_the_end
from services.system import SERVICE_NAMES
from shared import topics
from shared.district import DistrictError
from shared.settings import Settings

app = typer.Typer(help="Citizen-appeal closed loop on Kafka.", no_args_is_help=True, add_completion=False)
bench = typer.Typer(help="Measure a part of the system on a throwaway database.", no_args_is_help=True)
app.add_typer(bench, name="bench")
dlq = typer.Typer(help=f"Read and replay the messages parked on the dead-letter topic ({topics.DEAD_LETTERS}).",
                  no_args_is_help=True)
app.add_typer(dlq, name="dlq")
db = typer.Typer(help="The services' databases and the schema revision this version needs.", no_args_is_help=True)
app.add_typer(db, name="db")


EMBEDDED_BROKER_SETTINGS = {"kafka_session_timeout_ms": 3000, "kafka_fetch_wait_ms": 100}
"""`appeal dev`'s defaults on its own broker: consumers join a group in about half a
session timeout, and Tansu answers a fetch that found no records late (a record written
then reached its consumer in 116 ms at aiokafka's default wait of 500 ms, 17 at 100, 5 at
20), so each hop between services waits on it."""


def on_embedded_broker(settings: Settings) -> Settings:
    """`appeal dev`'s settings: its defaults for its own broker where nobody set them."""
    if settings.kafka_bootstrap is not None:
        return settings
    return settings.model_copy(update={name: value for name, value in EMBEDDED_BROKER_SETTINGS.items()
                                       if name not in settings.model_fields_set})


def _settings(**overrides) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        problems = "; ".join(f"APPEAL_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        raise StartupError(f"bad setting: {problems}") from None


def _run(coroutine) -> None:
    try:
        run_to_the_end(coroutine)
    except (StartupError, DistrictError, ValueError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


@app.command()
def dev(
    port: Annotated[int | None, typer.Option(help="HTTP port (default 8000 or APPEAL_HTTP_PORT).")] = None,
    district: Annotated[Path | None, typer.Option(help="District YAML; the bundled sample when omitted.",
                                                  exists=True, dir_okay=False)] = None,
    simulate: Annotated[float, typer.Option(min=0, help="Simulated reports per second (0 = none).")] = 0.0,
    data_dir: Annotated[Path | None, typer.Option(help="Where SQLite files and logs go (default .appeal).")] = None,
) -> None:
    """Run the whole system with one command: embedded broker (unless APPEAL_KAFKA_BOOTSTRAP
    is set), SQLite under the data dir (unless APPEAL_DATABASE_URL is set), all services,
    each service's consumers in a process of their own."""
    try:
        settings = on_embedded_broker(_settings(http_port=port, district_file=district, data_dir=data_dir))
    except StartupError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _run(run_dev(settings, simulate=simulate))


@app.command()
def run(service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICE_NAMES)}.")]) -> None:
    """Run one service against the Kafka and database named by the environment; its HTTP
    routes (if any) and /metrics on APPEAL_HTTP_PORT."""
    try:
        settings = _settings()
    except StartupError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _run(run_service(settings, service))


@app.command()
def report(
    since: Annotated[str | None, typer.Option(
        help="Only cases registered on or after this date (YYYY-MM-DD, UTC).")] = None,
    street: Annotated[str | None, typer.Option(help="Only cases of this street's branches or escalated to it.")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="CSV with a header row instead of a table.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where the SQLite files are (default .appeal).")] = None,
) -> None:
    """SLA outcomes per branch (响应率, 1h响应率, 解决率, 满意率) from the intake database
    named by APPEAL_DATABASE_URL, or the data dir's SQLite."""
    try:
        settings = _settings(data_dir=data_dir)
        start = _parse_date(since) if since is not None else None
        result = asyncio.run(gather_report(settings, since=start, street_code=street))
    except (StartupError, DistrictError, ValueError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(render_csv(result) if csv else render_table(result), nl=False)


@app.command()
def audit(
    settle: Annotated[float, typer.Option(
        min=0, help="Seconds a case may take to settle: one that changed more recently is still in flight, "
                    "not a violation.")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object with every finding instead of a "
                                                         "table.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where the SQLite files are (default .appeal).")] = None,
) -> None:
    """Check that what every service stored agrees.

    Every registered case dispatched or in a street queue, every open dispatch with live
    timers or a settled stage, feedback in step, no external id on two cases, no event
    applied twice, no outbox row older than a minute. Reads the databases named by
    APPEAL_DATABASE_URL, or the data dir's SQLite, and changes nothing. Exit 0 when clean,
    1 on any violation, 2 when a database cannot be read."""
    from services.audit import AuditError
    from services.audit import audit as run_audit
    from services.audit.render import render_table as audit_table
    from services.audit.render import summary, to_json

    try:
        result = asyncio.run(run_audit(_settings(data_dir=data_dir), settle_seconds=settle))
    except (StartupError, AuditError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(to_json(result))
    else:
        typer.echo(audit_table(result), nl=False)
        typer.echo(summary(result))
    if not result.ok:
        raise typer.Exit(1)


OneBenchDatabase = Annotated[str | None, typer.Option(
    help="PostgreSQL server to bench on (a fresh appeal_bench_* database is created and dropped), or 'sqlite' for "
         "temporary SQLite files. Default: APPEAL_DATABASE_URL, else APPEAL_TEST_POSTGRES_URL, else SQLite.")]


@bench.command("sla")
def bench_sla_command(
    database_url: OneBenchDatabase = None,
    pending: Annotated[int, typer.Option(
        min=1, help="Pending timers in the table, the due ones included.")] = 1_000_000,
    due: Annotated[int, typer.Option(min=1, help="Timers that fall due during the run.")] = 20_000,
    window: Annotated[float, typer.Option(min=0.1, help="Seconds over which the due timers are spread.")] = 10.0,
    burst: Annotated[int, typer.Option(min=1, help="Timers then due at one instant.")] = 10_000,
    keep_outbox: Annotated[Path | None, typer.Option(
        help="Write the outbox rows the firing loop made (the window's and the burst's timers) to this file, one "
             "JSON object a line, for checking them without the bench's own verdict.")] = None,
) -> None:
    """Fill the sla tables with PENDING timers, fire DUE of them spread over WINDOW
    seconds and then a BURST due at once, with the firing loop in its own process. Prints
    a summary against the targets and, as the last line, the results as JSON."""
    from services.bench.sla import bench_sla

    _bench(database_url, lambda url: bench_sla(url, pending=pending, due=due, window=window, burst=burst,
                                               keep_outbox=keep_outbox))


@bench.command("e2e")
def bench_e2e_command(
    database_url: Annotated[str | None, typer.Option(
        help="PostgreSQL server to bench on as well as SQLite (a fresh appeal_bench_* database is created and "
             "dropped), or 'sqlite' for SQLite only. Default: APPEAL_DATABASE_URL, else APPEAL_TEST_POSTGRES_URL, "
             "else SQLite only.")] = None,
    cases: Annotated[int, typer.Option(
        min=1, help="Reports written as fast as the bench can for cases_per_s (timed until all are dispatched and "
                    "their SLA timers armed); also the message count of the raw Kafka and naive FastStream "
                    "runs.")] = 20_000,
    loads: Annotated[str, typer.Option(
        help="Offered loads in cases a second, comma-separated: each runs for --load-seconds, paced, and gives "
             "p50_ms_at_<rate> and p99_ms_at_<rate> (report written to its dispatch seen).")] = "100,500,2000",
    load_seconds: Annotated[float, typer.Option(min=0.1, help="How long each offered load lasts.")] = 10.0,
    burst: Annotated[int, typer.Option(
        min=1, help="Reports then written at once; burst_drain_s is first write to last dispatch.")] = 10_000,
    timeout: Annotated[float, typer.Option(
        min=1, help="Seconds a phase (or a chunk of the memory run) may take before the bench fails, saying how "
                    "many were dispatched.")] = 600.0,
    memory_cases: Annotated[int, typer.Option(
        min=0, help="Then this many more cases (e.g. 1000000), in chunks written as the system drains them, "
                    "for rss_mb_at_10pct, rss_mb_at_end and rss_growth. A long run: at 2,000 cases/s a million "
                    "takes over 8 minutes a backend. 0, the default, skips it.")] = 0,
) -> None:
    """Cases a second through the whole system: reports written to the inbound Kafka
    topics until each is dispatched to a branch with its SLA timers armed.

    Runs `appeal dev` as a child process on a broker and database of its own (SQLite,
    and a scratch PostgreSQL database when a server is named), then measures throughput,
    latency at the offered loads and a burst's drain; on SQLite's broker also raw aiokafka
    (the ceiling) and a naive FastStream relay (the floor). Progress and a summary
    against the targets go to stderr; the last line of stdout is the results as JSON."""
    from services.bench.e2e import Plan, bench_e2e, parse_loads

    _bench(database_url, lambda url: bench_e2e(url, Plan(
        cases=cases, loads=parse_loads(loads), load_seconds=load_seconds, burst=burst, timeout=timeout,
        memory_cases=memory_cases)))


@bench.command("consumers")
def bench_consumers_command(
    database_url: OneBenchDatabase = None,
    events: Annotated[int, typer.Option(min=1, help="Reports, and so events for each consumer.")] = 5_000,
) -> None:
    """CPU a case costs in each consumer on its way to dispatch, without a broker: EVENTS
    reports through intake, then the events they cause through each consumer of the
    registered and dispatch topics in turn, in Kafka-sized batches. Progress on stderr;
    the last line of stdout is microseconds of CPU per event by consumer, as JSON."""
    from services.bench.consumers import bench_consumers

    _bench(database_url, lambda url: bench_consumers(url, events))


def _bench(database_url: str | None, measure: Callable[[str], Coroutine[Any, Any, dict]]) -> None:
    """Measure on the database named, else APPEAL_DATABASE_URL, else APPEAL_TEST_POSTGRES_URL,
    else SQLite; the results' JSON is the last line."""
    try:
        url = database_url or _settings().database_url or os.environ.get("APPEAL_TEST_POSTGRES_URL") or "sqlite"
        result = asyncio.run(measure(url))
    except (StartupError, ValueError, RuntimeError, OSError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result, ensure_ascii=False))


def _parse_date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"--since must be a date like 2026-11-01, not {text!r}") from None


@dlq.command("list")
def dlq_list() -> None:
    """List the letters parked on appeal.dlq.

    Reads the Kafka named by APPEAL_KAFKA_BOOTSTRAP and shows, for each letter, its id,
    where it came from, the consumer that parked it and why, whether it was cut down, and
    the start of its value. Reading commits nothing."""
    from services.dlq import DlqError, Progress, read_letters, require_bootstrap
    from services.dlq_table import render_letters, summary

    try:
        bootstrap = require_bootstrap(_settings().kafka_bootstrap)
        letters = asyncio.run(read_letters(bootstrap, Progress(f"reading {topics.DEAD_LETTERS}")))
    except (StartupError, DlqError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if letters:
        typer.echo(render_letters(letters), nl=False)
    typer.echo(summary(letters))


@dlq.command("replay")
def dlq_replay(
    ids: Annotated[list[str] | None, typer.Option(
        "--id", help="A letter's id as `appeal dlq list` shows it (PARTITION:OFFSET); repeat for several.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every letter that can be replayed.")] = False,
) -> None:
    """Send parked letters back to the topic they came from.

    Do this once the cause is fixed. Each letter's original bytes go to its original topic
    with the same key and a dlq_replayed_from header naming the letter. Consumers skip what
    they already handled, so replaying twice is safe. Cut-down letters are never replayed;
    naming one is an error."""
    from services.dlq import DlqError, replay_letters, require_bootstrap
    from services.dlq_table import replay_summary

    if bool(ids) == every:
        typer.secho("error: say which letters: --id PARTITION:OFFSET (repeatable) or --all", fg=typer.colors.RED,
                    err=True)
        raise typer.Exit(2)
    try:
        bootstrap = require_bootstrap(_settings().kafka_bootstrap)
        selection = asyncio.run(replay_letters(bootstrap, ids or [], every=every))
    except (StartupError, DlqError, ValueError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    for letter, reason in selection.refused:
        typer.secho(f"skipped {letter.id}: {reason}", fg=typer.colors.YELLOW, err=True)
    for letter_id in selection.not_found:
        typer.secho(f"no letter {letter_id} on {topics.DEAD_LETTERS}", fg=typer.colors.YELLOW, err=True)
    typer.echo(replay_summary(selection.replayed, len(selection.refused), len(selection.not_found)))
    if not every and (selection.refused or selection.not_found):
        raise typer.Exit(1)


@db.command("upgrade")
def db_upgrade(
    data_dir: Annotated[Path | None, typer.Option(help="Where the SQLite files are (default .appeal).")] = None,
) -> None:
    """Upgrade every service's database to the schema this version needs.

    Upgrades the databases named by APPEAL_DATABASE_URL (on PostgreSQL, each service's
    schema appeal_<service>), or the SQLite files under the data dir, creating them if
    they are missing. Prints one line per service: the revision it was at and the one it
    is at now. Run it after installing a new version, before starting its services (which
    refuse a database that is behind); running it again changes nothing. Databases made
    before there were migrations are recognised and kept."""
    from services.databases import DatabaseError, upgrade_all
    from shared.schema import SchemaError

    try:
        asyncio.run(upgrade_all(_settings(data_dir=data_dir), typer.echo))
    except (StartupError, DatabaseError, SchemaError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@db.command("status")
def db_status(
    data_dir: Annotated[Path | None, typer.Option(help="Where the SQLite files are (default .appeal).")] = None,
) -> None:
    """Show each service's schema revision and the one this version needs.

    Exits 1 if any database needs `appeal db upgrade`. Changes nothing."""
    from services.databases import DatabaseError, states

    try:
        found = asyncio.run(states(_settings(data_dir=data_dir)))
    except (StartupError, DatabaseError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    for each in found:
        typer.echo(str(each))
    if not all(each.current for each in found):
        raise typer.Exit(1)


@db.command("revision")
def db_revision(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICE_NAMES)}.")],
    message: Annotated[str, typer.Argument(help="What the change is, a few words; also names the file.")],
) -> None:
    """For developers, in a source checkout: write the next migration of SERVICE.

    Compares SERVICE's tables in the code with its migrations (on a scratch SQLite
    database) and writes what differs into services/SERVICE/migrations/. Read the file
    and adjust it: it is a draft, and must work on SQLite and PostgreSQL alike."""
    from services.databases import new_revision
    from shared.schema import SchemaError

    try:
        written = asyncio.run(new_revision(service, message))
    except (SchemaError, ValueError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {written}")


@app.command()
def assets(
    registry: Annotated[str | None, typer.Option(
        help="npm registry to download from (default: npm_config_registry, else registry.npmjs.org).")] = None,
    check: Annotated[bool, typer.Option("--check", help="Only say what is missing; exit 1 if anything is.")] = False,
) -> None:
    """Install the scripts and styles of the API documentation pages (/docs, /redoc, /asyncapi).

    Downloads the pinned releases of swagger-ui-dist, redoc and @asyncapi/react-component
    from the npm registry, refuses any whose sha512 differs from the pinned integrity, and
    keeps the files the pages load inside the installed package, which serves them itself:
    the pages need no internet. Packages already in place are not downloaded again."""
    from shared.docs_assets import ASSETS_DIR, PACKAGES, AssetsError, fetch, missing

    if check:
        absent = missing()
        for package in absent:
            typer.echo(f"{package.spec}: missing")
        typer.echo(f"{len(absent)} of {len(PACKAGES)} packages missing in {ASSETS_DIR}" if absent
                   else f"all {len(PACKAGES)} packages in place in {ASSETS_DIR}")
        raise typer.Exit(1 if absent else 0)
    try:
        fetch(registry=registry, report=typer.echo)
    except (AssetsError, OSError) as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
