"""The `appeal` command."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from services.dev import StartupError, run_dev, run_service
from services.system import SERVICE_NAMES
from shared.district import DistrictError
from shared.settings import Settings

app = typer.Typer(help="Citizen-appeal closed loop on Kafka.", no_args_is_help=True, add_completion=False)


def _settings(**overrides) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        problems = "; ".join(f"APPEAL_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        raise StartupError(f"bad setting: {problems}") from None


def _run(coroutine) -> None:
    try:
        asyncio.run(coroutine)
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
    """Run the whole system in one process: embedded broker (unless APPEAL_KAFKA_BOOTSTRAP
    is set), SQLite under the data dir (unless APPEAL_DATABASE_URL is set), all services."""
    try:
        settings = _settings(http_port=port, district_file=district, data_dir=data_dir)
        if settings.kafka_bootstrap is None and "kafka_session_timeout_ms" not in settings.model_fields_set:
            settings = settings.model_copy(update={"kafka_session_timeout_ms": 3000})
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
