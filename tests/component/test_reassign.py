"""A supervisor hands a case to another branch (改派), on SQLite and PostgreSQL: from the
street's queue, or once its dispatch is breaching; with the services wired in memory, so
the new task, the new timers and the timeline follow. Two supervisors at once make one
new generation."""

import asyncio
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.dispatch import store
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.reassigning import Reassigning
from services.intake.store import find_case
from services.sla import store as sla_store
from services.sla.firing import FiringLoop
from services.sla.metrics import SlaMetrics
from shared import topics
from shared.auth import Identity
from shared.clock import FakeClock, as_utc
from shared.errors import Refused
from shared.events import CaseDispatched, case_event_adapter
from tests.component.conftest import outbox
from tests.component.inmemory import Wired, cases_at, wired_system
from tests.unit.factories import (
    CASE_ID,
    make_dispatched,
    make_registered,
    make_resolved,
    make_summary,
    make_timer_fired,
    sample_district,
)

SUPERVISOR = Identity("U900", "林主任", "supervisor", "S01")
COMMAND_CENTER = Identity("U800", "指挥中心值班长", "command_center", "350102")
NOWHERE = {"source": "hotline", "description": "路灯坏了一个星期没人修", "citizen_name": "陈先生",
           "citizen_phone": "13900000002"}
"""A report that names no community: it waits in the first street's queue (鼓东街道, S01)."""


async def test_two_supervisors_at_once_make_one_new_generation(service_under_test, clock, monkeypatch):
    """The second reads the case before the first writes (forced), then one of them is
    refused: on PostgreSQL by the conditional UPDATE, on SQLite (one writer) by the check."""
    async with service_under_test("dispatch") as (service, broker):
        await broker.publish(make_registered(summary=make_summary(address=None, description="路灯坏了")),
                             topics.CASE_REGISTERED)
        desk = Reassigning(service.uow, sample_district(), clock, DispatchMetrics.register(CollectorRegistry()))
        read, racing = store.current, []

        async def interleaved(session, case_id):
            assignment = await read(session, case_id)
            if not racing:
                racing.append(asyncio.create_task(desk.reassign(str(CASE_ID), COMMAND_CENTER, "B0103")))
                await asyncio.sleep(0.3)
            return assignment

        monkeypatch.setattr(store, "current", interleaved)
        first = desk.reassign(str(CASE_ID), SUPERVISOR, "B0102", "原支部人手不足")
        outcomes = [*await asyncio.gather(first, return_exceptions=True),
                    *await asyncio.gather(*racing, return_exceptions=True)]
        done = [o for o in outcomes if isinstance(o, CaseDispatched)]
        refused = [o for o in outcomes if isinstance(o, Refused)]
        assert len(done) == 1 and [r.status for r in refused] == [409], outcomes
        sent = [case_event_adapter.validate_json(row.payload) for row in await outbox(service)]
        assert [(e.type, e.generation) for e in sent] == [("case.escalated", 1), ("case.dispatched", 2)]
        assert sent[1] == done[0]
        async with service.db.session() as session:
            row = (await session.execute(select(store.Assignment))).scalar_one()
        assert (row.generation, row.branch_code, row.state) == (2, done[0].branch_code, "active")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_case_resolved_while_being_reassigned_stays_resolved(service_under_test, clock, monkeypatch):
    """The resolve reaches dispatch between the supervisor's read and write (forced; it
    needs PostgreSQL's concurrent writers): the reassignment is refused, not laid over it."""
    async with service_under_test("dispatch") as (service, broker):
        dispatched = make_dispatched(1)
        await broker.publish(make_registered(summary=make_summary(grid_code="G010101", address=None)),
                             topics.CASE_REGISTERED)
        await broker.publish(make_timer_fired("accept_warning", dispatched.accept_deadline), topics.SLA_EVENTS)
        desk = Reassigning(service.uow, sample_district(), clock, DispatchMetrics.register(CollectorRegistry()))
        read = store.current

        async def interleaved(session, case_id):
            assignment = await read(session, case_id)
            await broker.publish(make_resolved(1), topics.TASK_EVENTS)
            return assignment

        monkeypatch.setattr(store, "current", interleaved)
        with pytest.raises(Refused) as refused:
            await desk.reassign(str(CASE_ID), SUPERVISOR, "B0102")
        assert refused.value.status == 409 and "moved on meanwhile" in refused.value.reason
        async with service.db.session() as session:
            row = (await session.execute(select(store.Assignment))).scalar_one()
        assert (row.generation, row.state, row.branch_code) == (1, "resolved", "B0101")


async def test_a_case_in_the_street_queue_goes_to_the_branch_named(tmp_path, database_url, clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        api = wired.api
        operator, supervisor, member = await api.login("U100"), await api.login("U900"), await api.login("M005")
        case_id = (await api.http.post("/api/cases", json=NOWHERE, headers=operator)).json()["case_id"]
        await wired.deliver()
        assert [t["case_id"] for t in (await api.http.get("/api/branches/S01/tasks", headers=supervisor)).json()] \
            == [case_id]
        clock.advance(minutes=30)

        response = await api.http.post(f"/api/cases/{case_id}/reassign", headers=supervisor,
                                       json={"branch_code": "B0102", "reason": "虎节社区离得近，请回电13900000002"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["generation"], body["branch_code"], body["street_code"]) == (2, "B0102", "S01")
        accept, respond = utc(body["accept_deadline"]), utc(body["respond_deadline"])
        assert (accept, respond) == (clock.now() + timedelta(minutes=10), clock.now() + timedelta(hours=1))
        await wired.deliver()

        board = (await api.http.get("/api/branches/B0102/tasks", headers=member)).json()
        assert [(t["case_id"], t["status"], t["generation"], utc(t["accept_deadline"])) for t in board] == \
            [(case_id, "open", 2, accept)]
        assert (await api.http.get("/api/branches/S01/tasks", headers=supervisor)).json() == []
        assert await sla_deadlines(wired, case_id) == {("accept", 2, accept), ("respond", 2, respond)}
        detail = (await api.http.get(f"/api/cases/{case_id}", headers=supervisor)).json()
        assert (detail["status"], detail["branch_code"], utc(detail["accept_deadline"])) == \
            ("dispatched", "B0102", accept)
        [entry] = [e for e in detail["timeline"] if e["type"] == "case.dispatched"]
        assert (entry["reason"], entry["reassigned_by"], entry["reassign_reason"]) == \
            ("reassigned", "U900", "虎节社区离得近，请回电139****0002")
        assert await citizen_steps(wired, case_id) == ["诉求已受理", "已转鼓东街道协调处理", "已改派至虎节社区党支部"]
        registry = wired.system.context.registry
        assert registry.get_sample_value("appeal_cases_reassigned_total", {"branch": "B0102"}) == 1
        assert registry.get_sample_value("appeal_cases_dispatched_total", {"branch": "B0102"}) == 1


async def test_a_breaching_dispatch_may_be_reassigned_and_its_old_task_is_gone(tmp_path, database_url, clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        api = wired.api
        supervisor = await api.login("U900")
        case_id, _ = (await cases_at(wired, {"A": "dispatched"}))["A"]
        reassign = {"branch_code": "B0103", "reason": "三坊七巷支部今天外出"}

        on_time = await api.http.post(f"/api/cases/{case_id}/reassign", headers=supervisor, json=reassign)
        assert on_time.status_code == 409 and "on time" in on_time.text
        clock.advance(minutes=8, seconds=1)  # the accept warning (at 0.8 of 10 minutes) falls due
        await fire_timers(wired, clock)
        moved = await api.http.post(f"/api/cases/{case_id}/reassign", headers=supervisor, json=reassign)
        assert moved.status_code == 200, moved.text
        await wired.deliver()

        member_of = {"B0101": await api.login("M001"), "B0103": await api.login("M009")}
        assert [t["case_id"] for t in (await api.http.get("/api/branches/B0101/tasks",
                                                         headers=member_of["B0101"])).json()] == []
        [task] = (await api.http.get("/api/branches/B0103/tasks", headers=member_of["B0103"])).json()
        assert (task["case_id"], task["generation"], task["warning"], task["urge_count"]) == (case_id, 2, None, 0)
        assert utc(task["accept_deadline"]) == clock.now() + timedelta(minutes=10)
        stale = await api.http.post(f"/api/tasks/{case_id}/claim", headers=member_of["B0101"])
        assert stale.status_code == 403, "B0101 no longer holds it"
        assert (await api.http.post(f"/api/tasks/{case_id}/claim", headers=member_of["B0103"])).status_code == 200


@pytest.mark.parametrize(("who", "body", "status", "words"), [
    ("U900", {"branch_code": "B9999"}, 422, "no branch B9999"),
    ("U900", {"branch_code": "B0101"}, 409, "already with B0101"),
    ("U910", {"branch_code": "B0102"}, 403, "supervisor of the case's street"),
    ("M001", {"branch_code": "B0102"}, 403, "supervisor or command_center"),
    ("U900", {}, 422, "Field required"),
])
async def test_refusals_name_what_is_wrong(tmp_path, database_url, clock, who, body, status, words):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        case_id, _ = (await cases_at(wired, {"A": "dispatched"}))["A"]
        clock.advance(minutes=8, seconds=1)
        await fire_timers(wired, clock)
        response = await wired.api.http.post(f"/api/cases/{case_id}/reassign", json=body,
                                              headers=await wired.api.login(who))
        assert response.status_code == status and words in response.text, response.text
        if status == 422:
            assert response.json()["detail"][0]["loc"] == ["body", "branch_code"]


async def test_an_unknown_case_is_404_and_a_resolved_one_409(tmp_path, database_url, clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        cases = await cases_at(wired, {"done": "resolved"})
        headers = await wired.api.login("U800")
        unknown = await wired.api.http.post("/api/cases/00000000-0000-4000-8000-000000000000/reassign",
                                            json={"branch_code": "B0102"}, headers=headers)
        assert unknown.status_code == 404, unknown.text
        resolved = await wired.api.http.post(f"/api/cases/{cases['done'][0]}/reassign",
                                             json={"branch_code": "B0102"}, headers=headers)
        assert resolved.status_code == 409 and "resolved" in resolved.text, resolved.text


async def fire_timers(wired: Wired, clock: FakeClock) -> None:
    sla = wired.system.service("sla")
    await FiringLoop(sla.uow, clock, SlaMetrics.register(CollectorRegistry()), poll_seconds=1).fire_due()
    await wired.deliver()


def utc(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


async def sla_deadlines(wired: Wired, case_id: str) -> set[tuple[str, int, datetime]]:
    async with wired.system.service("sla").db.session() as session:
        timers = (await session.execute(select(sla_store.Timer).where(
            sla_store.Timer.case_id == case_id, sla_store.Timer.state == "pending",
            sla_store.Timer.kind.in_(["accept", "respond"])))).scalars()
        return {(t.kind, t.generation, as_utc(t.deadline)) for t in timers}


async def citizen_steps(wired: Wired, case_id: str) -> list[str]:
    async with wired.system.service("intake").db.session() as session:
        code = (await find_case(session, case_id)).tracking_code
    view = (await wired.api.http.get(f"/api/cases/{case_id}", params={"tracking_code": code})).json()
    assert "U900" not in str(view) and "虎节社区离得近" not in str(view)
    return [step["text"] for step in view["timeline"]]

