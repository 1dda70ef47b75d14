"""Intake's subscribers: reports from the hotline and grid topics, and every case event
for the case timeline."""

import json
from collections import Counter
from collections.abc import Sequence
from functools import partial

import structlog

from services.intake.classify import check_category, check_grid
from services.intake.metrics import IntakeMetrics
from services.intake.registration import register
from services.intake.store import link_projects, project
from shared import topics
from shared.broker import declare_publications
from shared.consuming import Consumers
from shared.district import District
from shared.events import (
    CaseRegistered,
    Envelope,
    InboundReport,
    ProjectEvent,
    ProjectPublished,
    case_event_adapter,
)
from shared.idempotency import Transaction
from shared.runtime import Context

log = structlog.get_logger()


def read_report(value: bytes, district: District) -> InboundReport:
    """An inbound value is JSON, whatever content-type header its sender put on it. A report
    naming a grid or a category the district does not have is refused here, with the
    undecodable ones, so it never costs its batch a second attempt."""
    try:
        report = InboundReport.model_validate(json.loads(value))
    except RecursionError:
        raise ValueError("the report is JSON nested too deeply to read") from None
    check_grid(report.grid_code, district)
    check_category(report.category, district)
    return report


def subscribe(consumers: Consumers, context: Context, metrics: IntakeMetrics) -> None:
    declare_publications(consumers.broker, "intake", topics.CASE_REGISTERED, CaseRegistered,
                         "A case was registered; keyed by case id.")

    # Reports carry no event id: the same external_id twice is one case (``register``).
    @consumers.on_batch(*topics.INBOUND_TOPICS, title="intake.inbound", key=None,
                        decode=partial(read_report, district=context.district),
                        description="Reports pushed by the hotline platform and the grid app.")
    async def on_reports(tx: Transaction, reports: Sequence[InboundReport]) -> None:
        outcomes = await register(tx, [(report, report.external_id) for report in reports], context.district,
                                  context.clock)
        created = Counter((o.case.source, o.case.category) for o in outcomes if o.created)
        tx.after_commit(lambda: count_received(created))
        for report, outcome in zip(reports, outcomes, strict=True):
            if not outcome.created:
                log.info("duplicate_report_ignored", case_id=outcome.case.case_id, external_id=report.external_id)

    def count_received(created: Counter[tuple[str, str]]) -> None:
        for (source, category), n in created.items():
            metrics.received.labels(source, category).inc(n)

    # Order-independent and keyed by event id (``project``), so it needs no processed-event records.
    @consumers.on_batch(*topics.CASE_EVENT_TOPICS, title="intake.timeline", group_id="appeal-intake-timeline",
                        decode=case_event_adapter.validate_json, key=None,
                        description="Every case event, onto the case's timeline.")
    async def on_case_events(tx: Transaction, events: Sequence[Envelope]) -> None:
        await project(tx.session, events, context.clock.now())

    # Idempotent by the entries' derived ids (``link_projects``), as the timeline is by event id.
    @consumers.on_batch(topics.PROJECT_EVENTS, title="intake.projects", group_id="appeal-intake-timeline", key=None,
                        description="Volunteer projects made from appeals, onto those cases' timelines.")
    async def on_project_events(tx: Transaction, events: Sequence[ProjectEvent]) -> None:
        await link_projects(tx.session, [event for event in events if isinstance(event, ProjectPublished)])
