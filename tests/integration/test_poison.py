"""Hostile input on the topics: a message too big to park whole, and a consumer that
cannot get past one offset. Neither may hold a partition without it showing."""

import json
import logging

import pytest
import structlog
from aiokafka.errors import KafkaConnectionError
from prometheus_client.parser import text_string_to_metric_families

from shared import topics
from tests.integration.harness import (
    Running,
    caught_up,
    publish,
    read_topic,
    report,
    running_system,
    settings_for,
)

pytestmark = pytest.mark.integration

TWO_MB_REPORT = json.dumps({"source": "hotline", "external_id": "RX-HUGE-1", "description": "噪" * 700_000},
                           ensure_ascii=False).encode()
BIG_PRODUCER = 4 * 1024 * 1024


async def metric(run: Running, name: str, **labels: str) -> float:
    """The value of one sample on /metrics, 0 when it is not there."""
    text = (await run.http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def registered(run: Running, operator: dict[str, str], external_id: str) -> bool:
    response = await run.http.get("/api/cases", params={"external_id": external_id}, headers=operator)
    return response.json()["total"] == 1


def letter_headers(letter) -> dict[str, str]:
    return {k: v.decode() for k, v in letter.headers}


async def test_a_report_too_big_to_park_whole_is_parked_cut_down_and_the_partition_moves_on(kafka, tmp_path):
    assert len(TWO_MB_REPORT) > 2_000_000
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        sent = await publish(kafka.bootstrap, topics.INBOUND_HOTLINE, TWO_MB_REPORT, report("RX-AFTER-HUGE"),
                             partition=0, max_request_size=BIG_PRODUCER)
        operator = await run.login("U100")
        await run.wait_for(lambda: registered(run, operator, "RX-AFTER-HUGE"))

        [letter] = await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)
        headers = letter_headers(letter)
        assert (headers["dlq_topic"], headers["dlq_partition"], headers["dlq_offset"]) == (
            topics.INBOUND_HOTLINE, "0", str(sent[0].offset))
        assert headers["dlq_truncated"] == "true"
        assert headers["dlq_original_size"] == str(len(TWO_MB_REPORT))
        assert 0 < len(letter.value) < 1_000_000
        assert TWO_MB_REPORT.startswith(letter.value)
        assert "description" in headers["dlq_error"] and len(headers["dlq_error"]) <= 1000
        assert await metric(run, "appeal_dead_letters_total", service="intake", topic=topics.INBOUND_HOTLINE) == 1
        assert (await run.http.get("/readyz")).status_code == 200


async def test_an_oversized_case_event_is_parked_by_every_consumer_including_the_batch_one(kafka, tmp_path):
    garbage = b"\xff" * 2_100_000
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        await publish(kafka.bootstrap, topics.CASE_REGISTERED, garbage, partition=0, max_request_size=BIG_PRODUCER)
        for group in ("appeal-dispatch", "appeal-feedback", "appeal-intake-timeline"):
            await run.wait_for(lambda group=group: caught_up(kafka.bootstrap, group, [topics.CASE_REGISTERED]))

        letters = await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)
        assert sorted(letter_headers(r)["dlq_consumer"] for r in letters) == ["dispatch", "feedback", "intake"]
        for letter in letters:
            headers = letter_headers(letter)
            assert headers["dlq_topic"] == topics.CASE_REGISTERED
            assert (headers["dlq_truncated"], headers["dlq_original_size"]) == ("true", str(len(garbage)))
            assert garbage.startswith(letter.value) and len(letter.value) < 1_000_000
        assert await metric(run, "appeal_dead_letters_total", topic=topics.CASE_REGISTERED) == 1


async def test_a_consumer_that_cannot_park_shows_as_stuck_until_parking_works_again(kafka, tmp_path, monkeypatch,
                                                                                   caplog):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        dead_letters = run.system.service("intake").dead_letters
        working_park = dead_letters.park

        async def refuse(record, error):
            raise KafkaConnectionError("dead-letter topic unreachable")

        monkeypatch.setattr(dead_letters, "park", refuse)
        with structlog.testing.capture_logs() as logs:
            sent = await publish(kafka.bootstrap, topics.INBOUND_HOTLINE,
                                 json.dumps({"source": "hotline", "external_id": "RX-NO-TEXT"}).encode(),
                                 report("RX-BEHIND-STUCK"), partition=0)

            async def stuck():
                response = await run.http.get("/readyz")
                assert response.status_code == 503, response.text
                return response.json()

            body = await run.wait_for(stuck)
            [entry] = body["stuck"]
            assert (entry["service"], entry["topic"], entry["partition"], entry["offset"]) == (
                "intake", topics.INBOUND_HOTLINE, 0, sent[0].offset)
            assert "dead-letter topic unreachable" in entry["error"]
            assert body["services"]["intake"] is False
            assert await metric(run, "appeal_consumer_stuck", service="intake", topic=topics.INBOUND_HOTLINE) == 1

            async def came_back_often():
                return await metric(run, "appeal_redeliveries_total", service="intake",
                                    topic=topics.INBOUND_HOTLINE) >= 4

            await run.wait_for(came_back_often)
            assert not await registered(run, operator, "RX-BEHIND-STUCK")
            redeliveries = await metric(run, "appeal_redeliveries_total", service="intake",
                                        topic=topics.INBOUND_HOTLINE)
            lines = [e for e in logs if e["event"] == "consumer_stuck"]
            assert 1 <= len(lines) < redeliveries, "every redelivery was logged"
            assert lines[0]["partition"] == 0 and lines[0]["offset"] == sent[0].offset
            # The broker client's own complaints (a heartbeat missed on a busy machine) are not ours.
            ours = [r for r in caplog.records if r.levelno >= logging.ERROR and not r.name.startswith("aiokafka")]
            assert not ours, "a traceback per redelivery"

            monkeypatch.setattr(dead_letters, "park", working_park)
            await run.wait_for(lambda: registered(run, operator, "RX-BEHIND-STUCK"))
            assert (await run.http.get("/readyz")).status_code == 200
            assert await metric(run, "appeal_consumer_stuck", service="intake", topic=topics.INBOUND_HOTLINE) == 0
            assert [e for e in logs if e["event"] == "consumer_unstuck"]

        [letter] = await read_topic(kafka.bootstrap, topics.DEAD_LETTERS)
        assert letter_headers(letter)["dlq_offset"] == str(sent[0].offset)
