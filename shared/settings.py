"""One Settings class for every service, read from ``APPEAL_*`` environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

INSECURE_DEV_KEY = "appeal-dev-only-insecure-key-change-me-in-production"
MIN_SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APPEAL_", extra="ignore")

    kafka_bootstrap: str | None = Field(
        default=None, description="host:port list of the Kafka brokers; `appeal dev` starts one when unset."
    )
    database_url: str | None = Field(
        default=None, description="sqlite or postgresql URL; SQLite files under data_dir when unset."
    )
    district_file: Path | None = Field(default=None, description="District YAML; the bundled sample when unset.")
    http_port: int = Field(default=8000, ge=0, le=65535)
    log_level: str = "INFO"
    secret_key: SecretStr = SecretStr(INSECURE_DEV_KEY)
    data_dir: Path = Path(".appeal")
    kafka_partitions: int = Field(default=4, ge=1, description="Partitions of topics this system creates.")
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000)
    kafka_fetch_wait_ms: int = Field(
        default=500, ge=1, description="Longest a consumer's fetch waits at the broker when it has no new records. "
        "Apache Kafka answers as soon as records arrive; Tansu, the development broker, answers late, so there it "
        "bounds how long each hop takes (`appeal dev` uses 100 on its embedded broker).")
    token_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    sla_poll_seconds: float = Field(default=1.0, gt=0, description="Longest sleep of the SLA firing loop.")
    outbox_poll_seconds: float = Field(default=0.5, gt=0)


def production_key_problem(settings: Settings) -> str | None:
    """Why the signing key may not serve real users, or None: anyone can read the
    development key in the source and forge a supervisor's token with it."""
    key = settings.secret_key.get_secret_value()
    how = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
    if "secret_key" not in settings.model_fields_set or key == INSECURE_DEV_KEY:
        return (f"APPEAL_SECRET_KEY is not set (or is the development key): set it to one random string of at "
                f"least {MIN_SECRET_KEY_BYTES} bytes, the same on every service, e.g. from {how}")
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        return (f"APPEAL_SECRET_KEY is {len(key.encode())} bytes long; it must be at least {MIN_SECRET_KEY_BYTES}, "
                f"e.g. from {how}")
    return None
