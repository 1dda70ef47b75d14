from services.cli import on_embedded_broker
from shared.broker import batch_options
from shared.settings import Settings


def test_dev_waits_briefly_for_records_on_its_own_broker_unless_told_otherwise(monkeypatch):
    own = on_embedded_broker(Settings())
    assert (own.kafka_fetch_wait_ms, own.kafka_session_timeout_ms) == (100, 3000)
    assert batch_options(own, "appeal-claim")["fetch_max_wait_ms"] == 100

    elsewhere = on_embedded_broker(Settings(kafka_bootstrap="kafka-1:9092"))
    assert (elsewhere.kafka_fetch_wait_ms, elsewhere.kafka_session_timeout_ms) == (500, 10_000)

    monkeypatch.setenv("APPEAL_KAFKA_FETCH_WAIT_MS", "250")
    assert on_embedded_broker(Settings()).kafka_fetch_wait_ms == 250
