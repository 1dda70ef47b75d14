"""Intake's subscribers: reports from the hotline and grid topics, and every case event
for the case timeline."""

import json
from typing import Any

import structlog
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError

from services.intake.metrics import IntakeMetrics
from services.intake.registration import register
from services.intake.store import project
from shared import topics
from shared.broker import DeadLetters, batch_options, consumer_options, declare_publications
from shared.events import CaseRegistered, InboundReport, case_event_adapter
from shared.idempotency import UnitOfWork
from shared.runtime import Context

log = structlog.get_logger()


def report_json(message: KafkaMessage) -> Any:
    """An inbound value is JSON, whatever content-type header its sender put on it (FastStream
    would hand a ``text/plain`` report over as a string, which no report validates from)."""
    try:
        return json.loads(message.body)
    except RecursionError:
        raise ValueError("the report is JSON nested too deeply to read") from None


def subscribe(broker: KafkaBroker, uow: UnitOfWork, context: Context, metrics: IntakeMetrics,
              dead_letters: DeadLetters) -> None:
    options = consumer_options(context.settings, "appeal-intake")
    declare_publications(broker, "intake", topics.CASE_REGISTERED, CaseRegistered,
                         "A case was registered; keyed by case id.")

    @broker.subscriber(*topics.INBOUND_TOPICS, **options, title="intake.inbound", decoder=report_json,
                       description="Reports pushed by the hotline platform and the grid app.")
    async def on_report(report: InboundReport) -> None:
        async with uow.begin() as tx:
            outcome = await register(tx, report, report.external_id, context.district, context.clock)
        if outcome.created:
            metrics.received.labels(outcome.case.source, outcome.case.category).inc()
            log.info("case_registered", case_id=outcome.case.case_id, case_no=outcome.case.case_no,
                     external_id=report.external_id)
        else:
            log.info("duplicate_report_ignored", case_id=outcome.case.case_id, external_id=report.external_id)

    @broker.subscriber(*topics.CASE_EVENT_TOPICS, **batch_options(context.settings, "appeal-intake-timeline"),
                       title="intake.timeline", description="Every case event, onto the case's timeline.")
    async def on_case_events(_bodies: list[bytes], message: KafkaMessage) -> None:
        events = []
        for record in message.raw_message:
            try:
                events.append(case_event_adapter.validate_json(record.value))
            except ValidationError as error:
                await dead_letters.park(record, error)
        async with uow.begin() as tx:
            now = context.clock.now()
            for event in events:
                await project(tx.session, event, now)
