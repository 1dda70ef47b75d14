"""`appeal audit` on what the real loop stored: clean once the loop has drained, on each
backend; and, with the services stopped, each kind of damage done to the databases by
hand is found, attributed to the right service and case, and nothing else is."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text

from services.audit import AuditReport, audit
from services.claim import store as claim
from services.dispatch import store as dispatch
from services.feedback import store as feedback
from services.intake import store as intake
from services.sla import store as sla
from shared import topics
from shared.clock import SystemClock
from shared.outbox import OutboxMessage
from shared.runtime import service_database
from shared.settings import Settings
from tests.integration.harness import (
    CONSUMERS,
    Running,
    caught_up,
    district_file,
    events,
    publish,
    report,
    running_system,
    settings_for,
)

pytestmark = pytest.mark.integration



async def undrained(run: Running, bootstrap: str) -> list[str]:
    """What is still on its way: events in an outbox, messages a consumer group has not handled."""
    waiting = [f"{service.name} outbox" for service in run.system.services if await service.relay.pending()]
    waiting += [group for group, consumed in CONSUMERS.items() if not await caught_up(bootstrap, group, consumed)]
    return waiting or [f"{s.name} outbox" for s in run.system.services if await s.relay.pending()]


async def audited_clean(run: Running, settings: Settings, bootstrap: str, timeout: float = 90.0) -> AuditReport:
    """Wait for the loop to drain, then for an audit with no allowance for work in flight to be clean."""

    async def clean() -> AuditReport:
        waiting = await undrained(run, bootstrap)
        assert not waiting, f"still on its way: {', '.join(waiting)}"
        result = await audit(settings, settle_seconds=0)
        assert result.ok, "\n".join(f"{f.check} {f.service} {f.case_id}: {f.problem}" for f in result.findings)
        return result

    return await run.wait_for(clean, timeout=timeout)


async def claim_when_ready(run: Running, case_id: str, member: dict[str, str]) -> dict[str, Any]:
    async def claimed():
        response = await run.http.post(f"/api/tasks/{case_id}/claim", headers=member)
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200 and response.json()

    return await run.wait_for(claimed)


async def act(run: Running, case_id: str, move: str, member: dict[str, str], **body: str) -> None:
    response = await run.http.post(f"/api/tasks/{case_id}/{move}", json=body, headers=member)
    assert response.status_code == 200, response.text


async def rate(run: Running, created: dict[str, str], rating: int) -> dict[str, Any]:
    async def rated():
        response = await run.http.post(f"/api/cases/{created['case_id']}/feedback", json={
            "tracking_code": created["tracking_code"], "rating": rating, "resolved": True})
        assert response.status_code in (200, 409), response.text
        return response.status_code == 200 and response.json()

    return await run.wait_for(rated)


async def change(settings: Settings, service: str, tables: list, *statements: Any) -> None:
    """Damage a stopped service's database directly, as a bug or a bad hand edit would."""
    db = service_database(settings, service, tables)
    try:
        async with db.engine.begin() as connection:
            for statement in statements:
                await connection.execute(statement)
    finally:
        await db.dispose()


def without_unique_constraints(schema: str | None, table: str) -> list[Any]:
    """The table rebuilt from its rows alone: what a hand-made schema that lost its unique
    index looks like. Raw SQL is not schema-translated, so it names the schema itself."""
    return [text(f"CREATE TABLE {qualified(schema, table + '_copy')} AS SELECT * FROM {qualified(schema, table)}"),
            text(f"DROP TABLE {qualified(schema, table)}"),
            text(f"ALTER TABLE {qualified(schema, table + '_copy')} RENAME TO {table}")]


def qualified(schema: str | None, table: str) -> str:
    return f'"{schema}".{table}' if schema else table


async def test_a_drained_loop_audits_clean_and_each_damage_is_found(kafka, tmp_path, database_url):
    settings = settings_for(kafka.bootstrap, tmp_path, database_url=database_url)
    async with running_system(settings) as run:
        operator, zhang = await run.login("U100"), await run.login("M001")

        await publish(kafka.bootstrap, topics.INBOUND_HOTLINE, report("RX-AUDIT-1"), report("RX-AUDIT-1"))

        async def inbound_case():
            page = (await run.http.get("/api/cases", params={"external_id": "RX-AUDIT-1"}, headers=operator)).json()
            return page["items"] and page["items"][0]["status"] == "dispatched" and page["items"][0]["case_id"]

        inbound = await run.wait_for(inbound_case)

        closed = await run.register(operator)
        await claim_when_ready(run, closed["case_id"], zhang)
        await act(run, closed["case_id"], "respond", zhang, note="已电话联系王女士")
        await act(run, closed["case_id"], "resolve", zhang, note="已协调停工")
        assert (await rate(run, closed, 5))["status"] == "closed"

        reopened = await run.register(operator)
        await claim_when_ready(run, reopened["case_id"], zhang)
        await act(run, reopened["case_id"], "resolve", zhang, note="已协调")
        assert (await rate(run, reopened, 1))["status"] == "reopened"

        claimed = (await run.register(operator))["case_id"]
        await claim_when_ready(run, claimed, zhang)

        returned = (await run.register(operator))["case_id"]
        await claim_when_ready(run, returned, zhang)
        await act(run, returned, "return", zhang, reason="不属于本社区辖区")

        queued = (await run.register(operator, description="路灯不亮，晚上很黑", address="某小区门口"))["case_id"]

        await run.wait_case(reopened["case_id"], operator, lambda c: events(c, "case.dispatched", generation=2))
        await run.wait_case(returned, operator, lambda c: events(c, "case.dispatched", generation=2))
        await run.wait_case(queued, operator, lambda c: c["status"] == "escalated")
        clean = await audited_clean(run, settings, kafka.bootstrap)
        assert (clean.cases, clean.settling) == (6, 0)

    intake_schema = service_database(settings, "intake", intake.TABLES).schema
    entry = intake.TimelineEntry.__table__
    await change(settings, "intake", intake.TABLES, *without_unique_constraints(intake_schema, "intake_case"))
    duplicate_claim = (await _one(settings, "intake", intake.TABLES, select(entry).where(
        entry.c.case_id == closed["case_id"], entry.c.type == "task.claimed")))._asdict()
    await change(settings, "intake", intake.TABLES,
                 text(f"UPDATE {qualified(intake_schema, 'intake_case')} SET external_id = 'RX-AUDIT-1' "
                      "WHERE case_id = :case_id").bindparams(case_id=returned),
                 insert(entry).values(**{**duplicate_claim, "event_id": str(uuid.uuid4())}))
    assignment = dispatch.Assignment.__table__
    await change(settings, "dispatch", dispatch.TABLES, delete(assignment).where(assignment.c.case_id == inbound))
    timer = sla.Timer.__table__
    await change(settings, "sla", sla.TABLES,
                 delete(timer).where(timer.c.case_id == claimed, timer.c.kind == "respond"))
    ratable = feedback.RatableCase.__table__
    await change(settings, "feedback", feedback.TABLES, delete(ratable).where(ratable.c.case_id == queued))
    outbox = OutboxMessage.__table__
    await change(settings, "claim", claim.TABLES, insert(outbox).values(
        topic=topics.TASK_EVENTS, key=reopened["case_id"], event_type="task.claimed", event_id=str(uuid.uuid4()),
        correlation_id=str(uuid.uuid4()), payload="{}", created_at=SystemClock().now() - timedelta(minutes=5)))

    damaged = await audit(settings, settle_seconds=0)
    assert sorted((f.check, f.service, f.case_id) for f in damaged.findings) == sorted([
        ("dispatched", "dispatch", inbound),
        ("timers", "sla", claimed),
        ("feedback", "feedback", queued),
        ("external_id", "intake", returned),
        ("applied_once", "intake", closed["case_id"]),
        ("outbox", "claim", reopened["case_id"]),
    ]), damaged.findings
    assert not damaged.ok


async def _one(settings: Settings, service: str, tables: list, query: Any) -> Any:
    db = service_database(settings, service, tables)
    try:
        async with db.engine.connect() as connection:
            return (await connection.execute(query)).one()
    finally:
        await db.dispose()


async def test_cases_the_clock_moved_on_audit_clean(kafka, tmp_path):
    """Fired timers, breaches and a case that expired its way into the street queue."""
    district = district_file(tmp_path, accept="5s", respond="6s", escalation_loops=0)
    settings = settings_for(kafka.bootstrap, tmp_path, district_file=district)
    async with running_system(settings) as run:
        operator, zhang = await run.login("U100"), await run.login("M001")
        unclaimed = (await run.register(operator))["case_id"]
        late = (await run.register(operator))["case_id"]
        await claim_when_ready(run, late, zhang)

        await run.wait_case(unclaimed, operator, lambda c: c["status"] == "escalated"
                            and events(c, "case.escalated", generation=2, reason="expired"), timeout=60)
        await run.wait_case(late, operator, lambda c: events(c, "sla.breached", stage="respond")
                            and events(c, "supervisor.notified", reason="respond_breached"), timeout=60)
        clean = await audited_clean(run, settings, kafka.bootstrap)
        assert clean.cases == 2
