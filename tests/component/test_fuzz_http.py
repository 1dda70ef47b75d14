"""Every route, fed thousands of generated requests: hostile JSON bodies, raw bytes, odd
query strings and path segments, signed in with the role the route is for. Whatever
arrives, the answer is never a 5xx, and every 4xx has the one error shape.

The whole system's HTTP app runs on SQLite and PostgreSQL with its services wired in
memory (``tests.component.inmemory``). Each route gets a real case of its own, dispatched
to 三坊七巷 (B0101) and brought as far as the route needs (claimed, suspended or resolved
by 张伟, M001), and most requests are near-valid, so they reach past validation into the
stores. ``pytest --hypothesis-show-statistics`` shows the answers per route. A request
made of an unstorable string, a wrong type or bytes must still get a 4xx in the one shape.
"""

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared.events import CaseReport
from tests.component.inmemory import Wired, cases_at, wired_system
from tests.strategies import as_url_part, bodies, encode, soak, texts, url_parts

REQUESTS = 600
TEXTS = 40
CONTENT_TYPES = ("application/json",) * 6 + ("application/json; charset=utf-8", "text/plain", None,
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json-patch+json")
JSON = {"Content-Type": "application/json"}
REPORT = {"source": "hotline", "description": "南后街12号楼下装修噪音很大", "citizen_name": "王女士",
          "citizen_phone": "13800000001", "grid_code": "G010101", "address": "南后街12号", "lat": 26.08, "lon": 119.29,
          "category": "noise", "priority": "normal", "external_id": "RX-FUZZ-1"}


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    """``{id}`` stands for the case, ``{branch}`` for a branch or street code."""
    who: str | None
    stage: str
    """How far the route's case has come: one of ``inmemory.STAGES``."""
    template: dict[str, Any] = field(default_factory=dict)
    query: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name


ROUTES = [
    Route("login", "POST", "/api/auth/login", None, "registered", {"user_id": "U100", "password": "demo"}),
    Route("create-case", "POST", "/api/cases", "U100", "registered", REPORT),
    Route("list-cases", "GET", "/api/cases", "U900", "dispatched",
          query=("status", "branch_code", "external_id", "page", "page_size")),
    Route("case-as-staff", "GET", "/api/cases/{id}", "U100", "dispatched", query=("tracking_code",)),
    Route("case-as-citizen", "GET", "/api/cases/{id}", None, "dispatched", query=("tracking_code",)),
    Route("board", "GET", "/api/branches/{branch}/tasks", "M001", "dispatched", query=("status",)),
    Route("claim", "POST", "/api/tasks/{id}/claim", "M001", "dispatched"),
    Route("respond", "POST", "/api/tasks/{id}/respond", "M001", "claimed", {"note": "已电话联系王女士"}),
    Route("resolve", "POST", "/api/tasks/{id}/resolve", "M001", "claimed", {"note": "已协调施工方停工"}),
    Route("return", "POST", "/api/tasks/{id}/return", "M001", "claimed", {"reason": "不属于本社区"}),
    Route("suspend", "POST", "/api/tasks/{id}/suspend", "M001", "claimed", {"reason": "电话无人接听", "limit": "2h"}),
    Route("resume", "POST", "/api/tasks/{id}/resume", "M001", "suspended"),
    Route("feedback", "POST", "/api/cases/{id}/feedback", None, "resolved",
          {"tracking_code": "{code}", "rating": 4, "resolved": True, "comment": "处理很及时"}),
    Route("evaluation", "POST", "/api/cases/{id}/evaluation", "M001", "resolved", {"rating": 4, "comment": "配合"}),
    Route("extension", "POST", "/api/cases/{id}/extension", "U900", "dispatched",
          {"stage": "respond", "extend_by": "30m", "reason": "诉求人出差"}),
    Route("reassign", "POST", "/api/cases/{id}/reassign", "U900", "dispatched",
          {"branch_code": "B0102", "reason": "原支部人手不足"}),
    Route("urge", "POST", "/api/cases/{id}/urge", "U900", "claimed", {"note": "群众反映强烈，请尽快"}),
]


@dataclass
class World:
    """One system; for each route a case of its own at the stage the route needs."""

    wired: Wired
    cases: dict[str, tuple[str, str]]
    """route name → (case id, tracking code)"""
    tokens: dict[str, dict[str, str]]


async def build_world(wired: Wired) -> World:
    tokens = {who: await wired.api.login(who) for who in ("U100", "M001", "U900")}
    return World(wired, await cases_at(wired, {route.name: route.stage for route in ROUTES}), tokens)


@st.composite
def requests(draw: st.DrawFn, world: World) -> tuple[Route, dict[str, Any]]:
    route = draw(st.sampled_from(ROUTES))
    case_id, code = world.cases[route.name]
    template = json.loads(json.dumps(route.template).replace("{code}", code))
    # Hypothesis favours small numbers: 0 picks the likeliest branch.
    segment = {"{id}": draw(url_parts) if draw(st.integers(0, 3)) == 3 else case_id,
               "{branch}": draw(url_parts) if draw(st.integers(0, 3)) == 3 else
               draw(st.sampled_from(["B0101", "S01", "B0201"]))}
    path = route.path
    for placeholder, value in segment.items():
        path = path.replace(placeholder, value)
    names = st.one_of(st.sampled_from(route.query), url_parts) if route.query else url_parts
    values = st.one_of(st.just(code), st.sampled_from(["1", "0", "-1", "200", "201", str(2**63), "open", "claimed",
                                                       "B0101", "S01", "NaN"]), url_parts)
    pairs = draw(st.lists(st.tuples(names, values), max_size=4)) if route.query or draw(st.integers(0, 3)) == 3 else []
    query = "&".join(f"{as_url_part(n) if n in route.query else n}={v}" for n, v in pairs)
    body = draw(bodies(template)) if route.template else draw(st.one_of(st.just(b""), bodies({"note": "x"})))
    headers = dict(world.tokens[route.who]) if route.who else {}
    if draw(st.integers(0, 19)) == 19:
        headers["Authorization"] = draw(st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=126)),
                                                  st.just("Bearer "), st.just("Bearer a.b.c")))
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type:
        headers["Content-Type"] = content_type
    return route, {"method": route.method, "url": f"{path}?{query}" if query else path, "content": body,
                   "headers": headers}


def assert_well_formed(response, sent: dict[str, Any]) -> None:
    shown = {**sent, "content": sent["content"][:300], "headers": {k: v[:40] for k, v in sent["headers"].items()}}
    assert response.status_code < 500, (response.status_code, response.text[:500], shown)
    if response.status_code < 300:
        json.loads(response.content)
        return
    if response.status_code < 400:  # "/api/cases/" is redirected to "/api/cases" (Starlette's redirect_slashes)
        assert response.status_code == 307 and response.headers["location"], (response.status_code, shown)
        return
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, (response.text[:500], shown)
    for problem in detail:
        assert set(problem) == {"loc", "msg", "type"}, (response.text[:500], shown)
        assert isinstance(problem["loc"], list) and all(isinstance(p, str | int) for p in problem["loc"])
        assert isinstance(problem["msg"], str) and problem["msg"].strip(), response.text[:500]
        assert isinstance(problem["type"], str)


@pytest.fixture
async def wired(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as system:
        yield system


@pytest.fixture
async def world(wired):
    return await build_world(wired)


async def one_request(world: World, data) -> None:
    route, sent = data.draw(requests(world), label="request")
    # A client address of its own for each request: the per-address throttles of sign-ins and
    # tracking codes would otherwise answer everything with 429 after the first few dozen.
    address = (f"10.{data.draw(st.integers(0, 255))}.{data.draw(st.integers(0, 255))}.1", 50000)
    transport = httpx.ASGITransport(app=world.wired.system.app, client=address)
    async with httpx.AsyncClient(transport=transport, base_url="http://appeal.test") as http:
        response = await http.request(**sent)
    event(f"{route} → {response.status_code}")  # pytest --hypothesis-show-statistics shows how deep requests got
    assert_well_formed(response, sent)


FUZZ = {"deadline": None, "derandomize": True, "database": None,
        "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                  HealthCheck.data_too_large, HealthCheck.large_base_example]}
test_no_request_crashes_a_route = settings(max_examples=REQUESTS, **FUZZ)(given(data=st.data())(one_request))
test_no_request_crashes_a_route_soak = soak(settings(max_examples=REQUESTS * 10, **FUZZ)(
    given(data=st.data())(one_request)))


@settings(max_examples=TEXTS, **FUZZ)
@given(report=st.fixed_dictionaries(dict.fromkeys(("description", "citizen_name", "address"), texts)))
async def test_text_that_registers_reads_back_the_same(wired: Wired, report):
    """Whatever text a form gets accepted comes back as the form model read it (whitespace
    trimmed), emoji, rare CJK and SQL lookalikes included, on both backends; and the case's
    events pass every service without a dead letter."""
    operator = await wired.api.login("U100")
    sent = {"source": "grid", **report}
    body = encode(sent, ascii_only=True)
    created = await wired.api.http.post("/api/cases", content=body, headers={**operator, **JSON})
    assert_well_formed(created, {"content": body, "headers": {}})
    if created.status_code != 201:
        return
    expected = CaseReport.model_validate(sent)
    case = await wired.api.http.get(f"/api/cases/{created.json()['case_id']}", headers=operator)
    assert case.status_code == 200, case.text
    assert {name: case.json()[name] for name in report} == {name: getattr(expected, name) for name in report}
    await wired.deliver()  # on through dispatch, claim, sla, feedback and the timeline
    assert wired.dead_letters() == 0, report


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b"[" * 5000 + b"]" * 5000], ids=["cut-short", "not-utf8", "deep"])
async def test_unreadable_json_where_no_body_is_expected_is_refused(wired: Wired, body: bytes):
    """Found by the fuzzing above: a route that takes no body (claim, resume, the GETs)
    answered 500 to a JSON content type with a body that is not JSON."""
    member = await wired.api.login("M001")
    for method, path in (("POST", "/api/tasks/00000000-0000-4000-8000-000000000001/claim"),
                         ("GET", "/api/branches/B0101/tasks")):
        response = await wired.api.http.request(method, path, content=body, headers={**member, **JSON})
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body"]
