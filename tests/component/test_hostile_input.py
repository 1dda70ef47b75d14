"""Odd input gets a 4xx naming the field, never a 500, on SQLite and PostgreSQL.

The HTTP app of the whole system, without a broker: validation and storage are what is
under test, and the outbox rows a route writes simply stay in its database.
"""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.settings import INSECURE_DEV_KEY
from tests.component.conftest import api_client

NAN_CASE = '{"source": "hotline", "description": "南后街噪音", "lat": NaN}'
INFINITE_CASE = '{"source": "hotline", "description": "南后街噪音", "lon": Infinity}'
SURROGATE = '"\\ud800"'
CASE_ID = "00000000-0000-4000-8000-000000012345"


def fields_named(response) -> set[str]:
    return {str(part) for error in response.json()["detail"] for part in error["loc"]}


def post_raw(api, path: str, body: str, headers: dict[str, str] | None = None):
    """A JSON body as written, with what json.dumps would never produce (NaN, \\ud800)."""
    return api.http.post(path, content=body.encode(), headers={**(headers or {}), "Content-Type": "application/json"})


@pytest.fixture
async def api(tmp_path, database_url):
    async with api_client(tmp_path, database_url) as client:
        yield client


async def test_non_finite_numbers_are_refused_naming_the_field(api):
    operator = await api.login("U100")
    for field, body in (("lat", NAN_CASE), ("lon", INFINITE_CASE)):
        response = await post_raw(api, "/api/cases", body, operator)
        assert response.status_code == 422, response.text
        assert field in fields_named(response)
    rating = await post_raw(api, f"/api/cases/{CASE_ID}/feedback",
                            '{"tracking_code": "ABCDEFGHJK", "rating": NaN, "resolved": true}')
    assert rating.status_code == 422, rating.text
    assert "rating" in fields_named(rating)


@pytest.mark.parametrize(("path", "template", "field", "who"), [
    ("/api/auth/login", '{"user_id": %s, "password": "demo"}', "user_id", None),
    ("/api/auth/login", '{"user_id": "U100", "password": %s}', "password", None),
    ("/api/cases", '{"source": "hotline", "description": %s}', "description", "U100"),
    ("/api/cases", '{"source": "hotline", "description": "噪音", "citizen_name": %s}', "citizen_name", "U100"),
    (f"/api/cases/{CASE_ID}/feedback", '{"tracking_code": "ABCDEFGHJK", "rating": 5, "resolved": true, '
                                       '"comment": %s}', "comment", None),
    (f"/api/tasks/{CASE_ID}/respond", '{"note": %s}', "note", "M001"),
    (f"/api/tasks/{CASE_ID}/return", '{"reason": %s}', "reason", "M001"),
    (f"/api/cases/{CASE_ID}/extension", '{"stage": "accept", "extend_by": "1h", "reason": %s}', "reason", "U900"),
    (f"/api/cases/{CASE_ID}/reassign", '{"branch_code": %s}', "branch_code", "U900"),
    (f"/api/cases/{CASE_ID}/reassign", '{"branch_code": "B0102", "reason": %s}', "reason", "U900"),
    (f"/api/cases/{CASE_ID}/urge", '{"note": %s}', "note", "U800"),
])
@pytest.mark.parametrize("bad", [SURROGATE, '"南后街\\u0000噪音"'], ids=["lone-surrogate", "nul"])
async def test_unstorable_text_is_refused_naming_the_field(api, path, template, field, who, bad):
    headers = await api.login(who) if who else {}
    response = await post_raw(api, path, template % bad, headers)
    assert response.status_code == 422, response.text
    assert field in fields_named(response)


async def test_nul_and_huge_numbers_in_path_and_query_are_refused(api):
    operator = await api.login("U100")
    for params, field in (({"page": str(2**70)}, "page"), ({"page_size": str(2**70)}, "page_size"),
                          ({"external_id": "RX\x00"}, "external_id"), ({"branch_code": "B01\x00"}, "branch_code")):
        response = await api.http.get("/api/cases", params=params, headers=operator)
        assert response.status_code == 422, (params, response.text)
        assert field in fields_named(response)
    in_path = await api.http.get("/api/cases/%00abc", headers=operator)
    assert in_path.status_code == 422, in_path.text
    assert "case_id" in fields_named(in_path)


@pytest.mark.parametrize(("path", "body", "field", "who"), [
    (f"/api/cases/{CASE_ID}/extension", {"stage": "accept", "extend_by": "99999999999999d", "reason": "出差"},
     "extend_by", "U900"),
    (f"/api/tasks/{CASE_ID}/suspend", {"reason": "电话无人接听", "limit": "99999999999999d"}, "limit", "M001"),
    (f"/api/tasks/{CASE_ID}/suspend", {"reason": "电话无人接听", "limit": "1e400h"}, "limit", "M001"),
])
async def test_absurd_durations_are_refused_naming_the_field(api, path, body, field, who):
    response = await api.http.post(path, json=body, headers=await api.login(who))
    assert response.status_code == 422, response.text
    assert field in fields_named(response)


@pytest.mark.parametrize("claims", [
    {"sub": "U100", "role": "operator", "exp": "tomorrow"},
    {"sub": "U100", "role": "operator", "exp": None},
    {"sub": ["U100"], "role": "operator", "exp": 4102444800},
    {"sub": "U100", "role": "root", "exp": 4102444800},
], ids=["exp-text", "exp-null", "sub-list", "unknown-role"])
async def test_malformed_token_claims_are_401(api, claims):
    token = jwt.encode(claims, INSECURE_DEV_KEY, algorithm="HS256")
    response = await api.http.get("/api/cases", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(("claims", "why"), [
    ({"sub": "X999", "name": "冒充者", "role": "supervisor", "unit": "S01"}, "unknown user"),
    ({"sub": "M001", "name": "张伟", "role": "supervisor", "unit": "S01"}, "member claiming supervisor"),
    ({"sub": "M001", "name": "张伟", "role": "member", "unit": "B0201"}, "member of another branch"),
])
async def test_tokens_for_people_the_district_does_not_know_are_refused(api, claims, why):
    exp = datetime.now(UTC) + timedelta(hours=1)
    token = jwt.encode({**claims, "exp": exp}, INSECURE_DEV_KEY, algorithm="HS256")
    response = await api.http.get("/api/branches/B0101/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, (why, response.text)


async def test_every_error_has_one_shape(api):
    operator = await api.login("U100")
    member = await api.login("M001")
    answers = [
        await api.http.post("/api/cases", json={"source": "hotline"}, headers=operator),
        await api.http.post("/api/cases", json={"source": "hotline", "description": "噪音", "category": "xyz"},
                            headers=operator),
        await api.http.get("/api/cases", params={"status": "lost"}, headers=operator),
        await api.http.get(f"/api/cases/{CASE_ID}", headers=operator),
        await api.http.post(f"/api/tasks/{CASE_ID}/claim", headers=member),
        await api.http.get("/api/branches/B0201/tasks", headers=member),
        await api.http.get("/api/cases"),
    ]
    assert [a.status_code for a in answers] == [422, 422, 422, 404, 404, 403, 401]
    for answer in answers:
        [problem] = answer.json()["detail"][:1]
        assert set(problem) == {"loc", "msg", "type"}, answer.text
        assert isinstance(problem["loc"], list) and problem["msg"].strip()
    assert "category" in fields_named(answers[1])
    assert "status" in fields_named(answers[2])
