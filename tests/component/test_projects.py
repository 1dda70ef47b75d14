"""Volunteer projects through the claim service's HTTP API, on SQLite and PostgreSQL:
publishing (and what a bad request leaves behind: nothing), the slot races (never more
claims than slots, however many press 认领 at once, and a reopened slot taken at most
once), the cut-off, and a member's way from claim to confirmed completion, each step with
its one event in the outbox."""

import asyncio
import json
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from services.claim import project_store
from services.claim.store import Task
from shared import topics
from shared.clock import FakeClock
from shared.events import project_event_adapter
from shared.privacy import tracking_hash
from shared.runtime import Service
from tests.component.conftest import ApiClient, api_client, outbox
from tests.unit.factories import T0, make_dispatched

S01_MEMBERS = [f"M{n:03d}" for n in range(1, 13)]
"""Every member of 鼓东街道 (S01): three branches of four."""
START = T0 + timedelta(hours=3)


def visit(**fields: Any) -> dict[str, Any]:
    """独居老人上门探访 at 三坊七巷, three slots, claims closing an hour before the start."""
    return {"title": "独居老人上门探访", "description": "陪伴聊天，检查燃气、用电安全", "skills": ["elderly"],
            "place": "三坊七巷社区服务站", "starts_at": START.isoformat(),
            "ends_at": (START + timedelta(hours=2)).isoformat(),
            "claim_cutoff": (START - timedelta(hours=1)).isoformat(), "slots": 3, **fields}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def api(tmp_path, database_url, clock):
    async with api_client(tmp_path, database_url, names=["claim"], clock=clock) as client:
        yield client


def claim_service(api: ApiClient) -> Service:
    return api.system.service("claim")


async def project_events(api: ApiClient, kind: str | None = None) -> list[Any]:
    rows = [row for row in await outbox(claim_service(api)) if row.topic == topics.PROJECT_EVENTS]
    events = [project_event_adapter.validate_json(row.payload) for row in rows]
    assert all(row.key == str(event.project_id) for row, event in zip(rows, events, strict=True))
    return [event for event in events if kind is None or event.type == kind]


async def publish(api: ApiClient, who: str = "M001", **fields: Any) -> dict[str, Any]:
    response = await api.http.post("/api/projects", json=visit(**fields), headers=await api.login(who))
    assert response.status_code == 201, response.text
    return response.json()[0]


async def filled(api: ApiClient, project_id: str) -> int:
    async with claim_service(api).db.session() as session:
        project = await project_store.find_project(session, project_id)
        assert project is not None
        return project.filled


async def test_a_secretary_publishes_and_the_code_is_shown_once_and_kept_hashed(api):
    project = await publish(api, points=20)
    assert project["project_no"] == "XM20261121-001"
    assert (project["branch_code"], project["street_code"], project["points"]) == ("B0101", "S01", 20)
    [published] = await project_events(api, "project.published")
    assert published.evaluation_code_hash == tracking_hash(project["evaluation_code"])
    assert published.title == "独居老人上门探访" and published.slots == 3
    read = await api.http.get(f"/api/projects/{project['project_id']}", headers=await api.login("M002"))
    assert read.status_code == 200 and "evaluation_code" not in read.json()
    assert project["evaluation_code"] not in (await outbox(claim_service(api)))[0].payload


async def test_points_default_to_the_districts(api):
    project = await publish(api, "U900")
    assert project["points"] == api.system.context.district.points.per_project
    assert (project["branch_code"], project["street_code"]) == (None, "S01")


@pytest.mark.parametrize(("fields", "field"), [
    ({"ends_at": START.isoformat()}, "ends_at"),
    ({"claim_cutoff": (START + timedelta(minutes=1)).isoformat()}, "claim_cutoff"),
    ({"claim_cutoff": (T0 - timedelta(minutes=1)).isoformat()}, "claim_cutoff"),
    ({"slots": 0}, "slots"),
    ({"slots": 101}, "slots"),
    ({"points": 51}, "points"),
    ({"skills": ["cooking"]}, "skills"),
    ({"title": "   "}, "title"),
    ({"repeat_weeks": 13}, "repeat_weeks"),
    ({"starts_at": "2026-11-21T12:00:00"}, "starts_at"),
    ({"case_ids": [str(uuid.uuid4())]}, "case_ids"),
])
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(api, fields, field):
    response = await api.http.post("/api/projects", json=visit(**fields), headers=await api.login("M001"))
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"][0]["loc"], response.text
    assert await project_events(api) == []
    async with claim_service(api).db.session() as session:
        assert await project_store.projects(session, None) == []


async def test_a_supervisor_links_appeals_of_their_street_only_and_the_others_are_named(api):
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    async with claim_service(api).db.session() as session, session.begin():
        for case_id, street, branch in ((ours, "S01", "B0102"), (theirs, "S02", "B0201")):
            dispatched = make_dispatched(1, case_id=case_id)
            session.add(Task(case_id=str(case_id), correlation_id=str(case_id), generation=1, branch_code=branch,
                             street_code=street, status="resolved", summary=dispatched.summary.model_dump_json(),
                             dispatched_at=T0))
    supervisor = await api.login("U900")
    refused = await api.http.post("/api/projects", json=visit(case_ids=[str(ours), str(theirs)]), headers=supervisor)
    assert refused.status_code == 422 and str(theirs) in refused.text and str(ours) not in refused.text
    created = await api.http.post("/api/projects", json=visit(case_ids=[str(ours)]), headers=supervisor)
    assert created.status_code == 201, created.text
    [published] = await project_events(api, "project.published")
    assert published.case_ids == [ours]


async def test_who_may_publish(api):
    statuses = {}
    for who, fields in (("M002", {}), ("M005", {"branch_code": "B0101"}), ("U910", {}), ("U100", {}),
                        ("U900", {"branch_code": "B0201"}), ("U800", {"street_code": "S02"})):
        response = await api.http.post("/api/projects", json=visit(**fields), headers=await api.login(who))
        statuses[who] = response.status_code
    assert statuses == {"M002": 403, "M005": 403, "U910": 201, "U100": 403, "U900": 403, "U800": 201}


async def test_a_recurring_project_is_one_project_a_week_each_numbered(api):
    response = await api.http.post("/api/projects", json=visit(repeat_weeks=3), headers=await api.login("U900"))
    assert response.status_code == 201, response.text
    projects = response.json()
    assert [p["occurrence"] for p in projects] == [1, 2, 3]
    assert len({p["series_id"] for p in projects}) == 1 and projects[0]["series_id"] is not None
    assert [p["project_no"] for p in projects] == ["XM20261121-001", "XM20261121-002", "XM20261121-003"]
    assert len({p["evaluation_code"] for p in projects}) == 3
    starts = [p["starts_at"] for p in projects]
    assert starts == sorted(starts) and len(set(starts)) == 3


async def test_publishing_at_once_never_gives_two_projects_one_number(api):
    tokens = [await api.login(who) for who in ("M001", "M005", "M009", "U900", "U901")]
    responses = await asyncio.gather(*(api.http.post("/api/projects", json=visit(repeat_weeks=2), headers=token)
                                       for token in tokens for _ in range(2)))
    assert [r.status_code for r in responses] == [201] * 10
    numbers = [p["project_no"] for r in responses for p in r.json()]
    assert sorted(numbers) == [f"XM20261121-{n:03d}" for n in range(1, 21)]


async def test_twelve_members_claim_three_slots_at_once_and_exactly_three_win(api):
    project_id = (await publish(api))["project_id"]
    tokens = {member: await api.login(member) for member in S01_MEMBERS}

    async def claim(member: str) -> tuple[str, int]:
        response = await api.http.post(f"/api/projects/{project_id}/claim", headers=tokens[member])
        return member, response.status_code

    results = await asyncio.gather(*(claim(member) for member in S01_MEMBERS))
    assert Counter(status for _, status in results) == {200: 3, 409: 9}
    winners = sorted(member for member, status in results if status == 200)
    assert await filled(api, project_id) == 3
    claimed = await project_events(api, "project.slot_claimed")
    assert sorted(e.member_id for e in claimed) == winners
    assert sorted(e.filled for e in claimed) == [1, 2, 3]
    loser = next(member for member, status in results if status == 409)
    again = await api.http.post(f"/api/projects/{project_id}/claim", headers=tokens[loser])
    assert again.status_code == 409 and "taken" in again.text


@pytest.mark.parametrize("rounds", [4])
async def test_a_withdrawal_racing_claims_reopens_one_slot_taken_at_most_once(api, rounds):
    tokens = {member: await api.login(member) for member in S01_MEMBERS}
    for _ in range(rounds):
        project_id = (await publish(api))["project_id"]
        holders, others = S01_MEMBERS[:3], S01_MEMBERS[3:]
        for member in holders:
            assert (await api.http.post(f"/api/projects/{project_id}/claim", headers=tokens[member])).status_code == 200
        before = len(await project_events(api, "project.slot_claimed"))

        async def act(member: str, move: str, project_id: str = project_id) -> tuple[str, str, int]:
            response = await api.http.post(f"/api/projects/{project_id}/{move}", headers=tokens[member])
            return member, move, response.status_code

        results = await asyncio.gather(act(holders[0], "withdraw"), *(act(member, "claim") for member in others))
        assert results[0][2] == 200
        won = [member for member, move, status in results[1:] if status == 200]
        assert len(won) <= 1
        assert all(status == 409 for member, move, status in results[1:] if member not in won)
        assert await filled(api, project_id) == 2 + len(won)
        claimed = await project_events(api, "project.slot_claimed")
        assert len(claimed) - before == len(won)
        withdrawn = [e for e in await project_events(api, "project.slot_withdrawn")
                     if str(e.project_id) == project_id]
        assert [(e.member_id, e.late) for e in withdrawn] == [(holders[0], False)]


async def test_after_the_cut_off_claims_are_refused_and_a_withdrawal_is_late(api, clock):
    project_id = (await publish(api))["project_id"]
    member, late_comer = await api.login("M004"), await api.login("M006")
    assert (await api.http.post(f"/api/projects/{project_id}/claim", headers=member)).status_code == 200
    clock.advance(hours=2)  # the cut-off, an hour before the start
    refused = await api.http.post(f"/api/projects/{project_id}/claim", headers=late_comer)
    assert refused.status_code == 409 and "cut-off" in refused.text
    withdrawn = await api.http.post(f"/api/projects/{project_id}/withdraw", headers=member)
    assert withdrawn.status_code == 200 and withdrawn.json()["late"] is True
    assert await filled(api, project_id) == 1, "a late withdrawal does not reopen the slot"
    [event] = await project_events(api, "project.slot_withdrawn")
    assert (event.late, event.filled, event.branch_code, event.street_code) == (True, 1, "B0101", "S01")


async def test_claims_fenced_by_the_cut_off_in_the_table_even_when_the_row_read_said_open(api):
    """The UPDATE itself checks the cut-off: a project whose cut-off was moved into the past
    directly in the table takes no claim."""
    project_id = (await publish(api))["project_id"]
    async with claim_service(api).db.session() as session, session.begin():
        await session.execute(update(project_store.PROJECTS).where(project_store.PROJECTS.c.project_id == project_id)
                              .values(claim_cutoff=T0 - timedelta(seconds=1)))
    refused = await api.http.post(f"/api/projects/{project_id}/claim", headers=await api.login("M002"))
    assert refused.status_code == 409
    assert await filled(api, project_id) == 0 and await project_events(api, "project.slot_claimed") == []


async def test_a_member_withdraws_in_time_claims_again_and_each_claim_is_an_event_of_its_own(api):
    project_id = (await publish(api))["project_id"]
    member = await api.login("M002")
    for move in ("claim", "withdraw", "claim"):
        response = await api.http.post(f"/api/projects/{project_id}/{move}", headers=member)
        assert response.status_code == 200, (move, response.text)
    assert response.json()["claims"] == 2
    assert await filled(api, project_id) == 1
    claimed = await project_events(api, "project.slot_claimed")
    assert len(claimed) == 2 and claimed[0].event_id != claimed[1].event_id
    twice = await api.http.post(f"/api/projects/{project_id}/claim", headers=member)
    assert twice.status_code == 409 and "already" in twice.text


async def test_from_claim_to_confirmed_completion(api, clock):
    project = await publish(api, points=30)
    project_id = project["project_id"]
    member, secretary, other_secretary = await api.login("M006"), await api.login("M001"), await api.login("M005")
    url = f"/api/projects/{project_id}"

    async def post(path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
        return await api.http.post(f"{url}{path}", json=body, headers=headers)

    assert (await post("/claim", member)).status_code == 200
    too_early = await post("/check-in", member)
    assert too_early.status_code == 409 and "before the start" in too_early.text
    assert (await post("/members/M006/confirm", secretary)).status_code == 409, "not reported yet"
    clock.advance(hours=2, minutes=30)
    assert (await post("/check-in", member)).status_code == 200
    clock.advance(hours=2)
    assert (await post("/check-out", member)).status_code == 200
    empty = await post("/report", member, {"note": "  "})
    assert empty.status_code == 422 and "note" in empty.json()["detail"][0]["loc"]
    assert (await post("/report", member, {"note": "陪李奶奶聊天一小时，电话13800000001"})).status_code == 200
    assert (await post("/members/M006/confirm", other_secretary)).status_code == 403
    assert (await post("/members/M006/confirm", member)).status_code == 403
    assert (await post("/members/M007/confirm", secretary)).status_code == 404
    confirmed = await post("/members/M006/confirm", secretary)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert (await post("/members/M006/confirm", await api.login("U900"))).status_code == 409
    types = [e.type for e in await project_events(api)]
    assert types == ["project.published", "project.slot_claimed", "project.checked_in", "project.checked_out",
                     "project.reported", "project.completion_confirmed"]
    report = (await project_events(api, "project.reported"))[0]
    assert "13800000001" not in report.note, "a phone number in a report is masked"
    [done] = await project_events(api, "project.completion_confirmed")
    assert (done.member_id, done.branch_code, done.street_code, done.points, done.confirmed_by) == (
        "M006", "B0102", "S01", 30, "M001")
    detail = (await api.http.get(url, headers=secretary)).json()
    assert [(m["member_id"], m["member_name"], m["status"]) for m in detail["members"]] == [
        ("M006", "王美玲", "confirmed")]
    mine = (await api.http.get(url, headers=member)).json()
    assert mine["members"] is None and mine["my_slot"]["status"] == "confirmed"


async def test_members_see_their_streets_projects_skill_matches_first(api):
    repair = await publish(api, "U900", title="楼道灯维修", skills=["road"],
                           starts_at=(START - timedelta(minutes=30)).isoformat(),
                           claim_cutoff=(START - timedelta(hours=2)).isoformat())
    visit_project = await publish(api, "M005", branch_code=None)
    elsewhere = await publish(api, "U910")
    listed = (await api.http.get("/api/projects", headers=await api.login("M004"))).json()
    assert [(p["project_id"], p["skill_match"]) for p in listed] == [
        (visit_project["project_id"], True), (repair["project_id"], False)]
    m003 = (await api.http.get("/api/projects", headers=await api.login("M003"))).json()
    assert [p["project_id"] for p in m003] == [repair["project_id"], visit_project["project_id"]]
    far = await api.http.get(f"/api/projects/{elsewhere['project_id']}", headers=await api.login("M004"))
    assert far.status_code == 403
    assert (await api.http.get("/api/projects", params={"street_code": "S02"},
                               headers=await api.login("M004"))).status_code == 403
    command = (await api.http.get("/api/projects", params={"street_code": "S02"},
                                  headers=await api.login("U800"))).json()
    assert [p["project_id"] for p in command] == [elsewhere["project_id"]]
    assert (await api.http.get("/api/projects/nope", headers=await api.login("M004"))).status_code == 404


async def test_the_counters_count_what_committed(api, clock):
    registry = api.system.context.registry
    project_id = (await publish(api, repeat_weeks=2))["project_id"]
    member = await api.login("M006")
    await api.http.post(f"/api/projects/{project_id}/claim", headers=member)
    await api.http.post(f"/api/projects/{project_id}/claim", headers=member)  # refused: counts nothing
    await api.http.post(f"/api/projects/{project_id}/withdraw", headers=member)
    value = registry.get_sample_value
    assert value("appeal_projects_published_total", {"street": "S01"}) == 2
    assert value("appeal_projects_published_total", {"street": "S02"}) == 0
    assert value("appeal_project_slots_claimed_total", {"branch": "B0102"}) == 1
    assert value("appeal_project_withdrawals_total", {"branch": "B0102", "late": "false"}) == 1
    assert value("appeal_project_withdrawals_total", {"branch": "B0102", "late": "true"}) == 0
    assert value("appeal_project_completions_total", {"branch": "B0101"}) == 0


async def test_slot_rows_and_outbox_agree(api):
    """Every slot row's claim count matches the claimed events of that member."""
    project_id = (await publish(api))["project_id"]
    member = await api.login("M010")
    for move in ("claim", "withdraw", "claim", "withdraw", "claim"):
        assert (await api.http.post(f"/api/projects/{project_id}/{move}", headers=member)).status_code == 200
    async with claim_service(api).db.session() as session:
        slots = list((await session.execute(select(project_store.ProjectSlot))).scalars())
    assert [(s.member_id, s.claims, s.status) for s in slots] == [("M010", 3, "claimed")]
    assert len({e.event_id for e in await project_events(api)}) == 6


async def test_asyncapi_documents_both_topics_claim_publishes(api):
    """Each topic a service publishes is its own channel: a second one replaces none."""
    document = (await api.http.get("/asyncapi.json")).json()
    published = {name: channel["address"] for name, channel in document["channels"].items()
                 if name.startswith("claim.publishes")}
    assert sorted(published.values()) == [topics.PROJECT_EVENTS, topics.TASK_EVENTS]
    schemas = json.dumps(document["components"])
    for kind in ("project.published", "project.slot_withdrawn", "project.completion_confirmed"):
        assert kind in schemas, kind


WHO_MAY = {
    # (method, path): {caller: status}; a 401 caller sends no token.
    ("GET", "/api/projects"): {"anon": 401, "U100": 403, "M013": 200, "U910": 200, "U800": 200, "M004": 200},
    ("GET", "/api/projects/{id}"): {"anon": 401, "U100": 403, "M013": 403, "U910": 403, "U800": 200, "M004": 200},
    ("POST", "/api/projects/{id}/claim"): {"anon": 401, "U100": 403, "U900": 403, "U800": 403, "M013": 403,
                                           "M004": 200},
    ("POST", "/api/projects/{id}/check-in"): {"M002": 404, "U900": 403, "M004": 409},
    ("POST", "/api/projects/{id}/members/M004/confirm"): {"anon": 401, "U100": 403, "M004": 403, "M002": 403,
                                                          "M005": 403, "U910": 403, "U900": 409},
}


async def test_who_may_do_what_to_a_project(api):
    project_id = (await publish(api))["project_id"]
    got: dict[tuple[str, str], dict[str, int]] = {}
    for (method, path), expected in WHO_MAY.items():
        got[method, path] = {}
        for who in expected:
            headers = {} if who == "anon" else await api.login(who)
            response = await api.http.request(method, path.format(id=project_id), headers=headers)
            got[method, path][who] = response.status_code
    assert got == WHO_MAY
