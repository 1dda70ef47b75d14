from pathlib import Path

from pydantic import SecretStr

from services.consumer_processes import child_environment
from shared.settings import Settings


def test_a_consumer_process_reads_the_settings_it_was_started_with(monkeypatch, tmp_path):
    parent = Settings(kafka_bootstrap="127.0.0.1:9093", data_dir=tmp_path / "data", district_file=Path("d.yaml"),
                      kafka_session_timeout_ms=3000, outbox_poll_seconds=0.25, log_level="WARNING",
                      secret_key=SecretStr("s" * 40))
    monkeypatch.setenv("APPEAL_DATABASE_URL", "sqlite:///elsewhere.db")  # the parent's own environment
    env = child_environment(parent, 41234)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if "APPEAL_DATABASE_URL" not in env:
        monkeypatch.delenv("APPEAL_DATABASE_URL")
    child = Settings()
    assert child.http_port == 41234
    assert child.data_dir == (tmp_path / "data").resolve()
    assert child.district_file == Path("d.yaml").resolve()
    assert child.secret_key.get_secret_value() == "s" * 40
    assert child.database_url is None
    same = {name for name in Settings.model_fields if name not in {"http_port", "data_dir", "district_file"}}
    assert {n: getattr(child, n) for n in same} == {n: getattr(parent, n) for n in same}
