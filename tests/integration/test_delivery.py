"""What arrives wrong, twice or too early: poison messages, repeated work orders, bad
forms, misplaced ratings and redelivered events."""

import json

import pytest

from shared import topics
from tests.integration.harness import (
    Running,
    caught_up,
    events,
    publish,
    read_topic,
    report,
    running_system,
    settings_for,
)

pytestmark = pytest.mark.integration


async def cases_with(run: Running, headers: dict[str, str], external_id: str) -> dict:
    response = await run.http.get("/api/cases", params={"external_id": external_id}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_registered(run: Running, headers: dict[str, str], external_id: str) -> dict:
    async def listed():
        return (await cases_with(run, headers, external_id))["items"]

    return (await run.wait_for(listed))[0]


async def test_poison_reports_go_to_the_dead_letter_topic_untouched(kafka, tmp_path):
    raw = b"\x00\xffnot json"
    wrong_shape = json.dumps([{"source": "hotline", "description": "南后街噪音"}]).encode()
    no_description = json.dumps({"source": "hotline", "external_id": "RX-BAD-1", "address": "南后街12号"}).encode()
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        sent = await publish(kafka.bootstrap, topics.INBOUND_HOTLINE, raw, wrong_shape, no_description,
                             report("RX-GOOD-1"), partition=0)
        operator = await run.login("U100")
        # One partition, handled in order: once the good report is a case, the bad ones were handled.
        await wait_registered(run, operator, "RX-GOOD-1")

        letters = sorted(await read_topic(kafka.bootstrap, topics.DEAD_LETTERS),
                         key=lambda r: int(dict(r.headers)["dlq_offset"]))
        assert [r.value for r in letters] == [raw, wrong_shape, no_description]
        for letter, original in zip(letters, sent[:3], strict=True):
            headers = {k: v.decode() for k, v in letter.headers}
            assert headers["dlq_topic"] == topics.INBOUND_HOTLINE
            assert (headers["dlq_partition"], headers["dlq_offset"]) == (str(original.partition), str(original.offset))
            assert headers["dlq_error"].strip()
        assert "description" in dict(letters[2].headers)["dlq_error"].decode()
        assert (await cases_with(run, operator, "RX-BAD-1"))["total"] == 0
        assert (await run.http.get("/api/cases", headers=operator)).json()["total"] == 1


async def test_one_work_order_number_is_one_case(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        await publish(kafka.bootstrap, topics.INBOUND_HOTLINE, report("RX-DUP-1"), report("RX-DUP-1"),
                      report("RX-LATER-1"), partition=0)
        operator = await run.login("U100")
        await wait_registered(run, operator, "RX-LATER-1")
        first = await cases_with(run, operator, "RX-DUP-1")
        assert first["total"] == 1
        case_id = first["items"][0]["case_id"]

        again = await run.http.post("/api/cases", headers=operator, json={
            "source": "hotline", "external_id": "RX-DUP-1", "description": "同一工单再次推送：南后街施工噪音"})
        assert again.status_code == 200, again.text
        assert again.json()["case_id"] == case_id
        assert again.json()["case_no"] == first["items"][0]["case_no"]

        assert (await cases_with(run, operator, "RX-DUP-1"))["total"] == 1
        assert (await run.http.get("/api/cases", headers=operator)).json()["total"] == 2
        await run.wait_for(lambda: _drained(run, "intake"))
        await run.wait_for(lambda: caught_up(kafka.bootstrap, "appeal-intake-timeline", [topics.CASE_REGISTERED]))
        assert len(events(await run.case(case_id, operator), "case.registered")) == 1


BAD_BODIES = [
    ("description", {"source": "hotline"}),
    ("description", {"source": "hotline", "description": "噪" * 4001}),
    ("lat", {"source": "hotline", "description": "南后街噪音", "lat": "north"}),
    ("source", {"source": "wechat", "description": "南后街噪音"}),
    ("citizen_phone", {"source": "hotline", "description": "南后街噪音", "citizen_phone": "call me"}),
    ("category", {"source": "hotline", "description": "南后街噪音", "category": "xyz"}),
    ("grid_code", {"source": "hotline", "description": "南后街噪音", "grid_code": "G999999"}),
    ("colour", {"source": "hotline", "description": "南后街噪音", "colour": "red"}),
]


async def test_bad_forms_are_refused_naming_the_field_and_store_nothing(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        for field, body in BAD_BODIES:
            response = await run.http.post("/api/cases", json=body, headers=operator)
            assert response.status_code == 422, (field, response.text)
            assert any(field in error["loc"] for error in response.json()["detail"]), (field, response.text)

        good = {"source": "hotline", "description": "南后街噪音"}
        assert (await run.http.post("/api/cases", json=good)).status_code == 401
        member = await run.login("M001")
        assert (await run.http.post("/api/cases", json=good, headers=member)).status_code == 403
        assert (await run.http.get("/api/cases", headers=operator)).json()["total"] == 0

        longest = await run.http.post("/api/cases", json={**good, "description": "噪" * 4000}, headers=operator)
        assert longest.status_code == 201, longest.text
        assert (await run.http.get("/api/cases", headers=operator)).json()["total"] == 1


async def test_feedback_needs_the_tracking_code_a_resolved_case_and_comes_once(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        created = await run.register(operator)
        case_id, code = created["case_id"], created["tracking_code"]

        async def rate(tracking_code: str, rating: int = 5):
            return await run.http.post(f"/api/cases/{case_id}/feedback",
                                       json={"tracking_code": tracking_code, "rating": rating, "resolved": True})

        async def known():
            response = await rate(code)
            assert response.status_code != 404, "feedback has not seen the case yet"
            return response

        early = await run.wait_for(known)
        assert early.status_code == 409, early.text
        assert (await rate("WRONGCODE1")).status_code == 403
        assert (await rate(code, rating=6)).status_code == 422

        zhang = await run.login("M001")

        async def claimed():
            return (await run.http.post(f"/api/tasks/{case_id}/claim", headers=zhang)).status_code == 200

        await run.wait_for(claimed)
        resolved = await run.http.post(f"/api/tasks/{case_id}/resolve", json={"note": "已处理"}, headers=zhang)
        assert resolved.status_code == 200, resolved.text

        async def accepted():
            response = await rate(code)
            assert response.status_code in (200, 409), response.text
            return response.status_code == 200 and response.json()

        assert (await run.wait_for(accepted))["status"] == "closed"
        assert (await rate("WRONGCODE1")).status_code == 403
        twice = await rate(code, rating=1)
        assert twice.status_code == 409, twice.text
        detail = await run.wait_case(case_id, operator, lambda c: c["status"] == "closed")
        assert [e["rating"] for e in events(detail, "feedback.recorded")] == [5]


async def test_redelivered_registration_changes_nothing(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        case_id = (await run.register(operator))["case_id"]
        await run.wait_case(case_id, operator, lambda c: c["status"] == "dispatched")
        await run.wait_for(lambda: _drained(run, "intake"))
        [original] = [r for r in await read_topic(kafka.bootstrap, topics.CASE_REGISTERED)
                      if r.key == case_id.encode()]
        assert json.loads(original.value)["event_id"]

        await publish(kafka.bootstrap, topics.CASE_REGISTERED, original.value, original.value, key=original.key,
                      headers=list(original.headers))
        for group in ("appeal-dispatch", "appeal-feedback", "appeal-intake-timeline"):
            await run.wait_for(lambda group=group: caught_up(kafka.bootstrap, group, [topics.CASE_REGISTERED]))
        await run.wait_for(lambda: _drained(run, "dispatch"))

        dispatches = [r for r in await read_topic(kafka.bootstrap, topics.CASE_DISPATCH) if r.key == case_id.encode()]
        assert len(dispatches) == 1
        await run.wait_for(lambda: caught_up(kafka.bootstrap, "appeal-intake-timeline", [topics.CASE_DISPATCH]))
        detail = await run.case(case_id, operator)
        assert len(events(detail, "case.registered")) == 1
        assert len(events(detail, "case.dispatched")) == 1
        assert detail["status"] == "dispatched"
        assert (await run.http.get("/api/cases", headers=operator)).json()["total"] == 1


async def _drained(run: Running, service: str) -> bool:
    return await run.system.service(service).relay.pending() == 0
