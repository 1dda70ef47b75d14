"""The API keeps the promises of its own OpenAPI document (``/openapi.json``), checked by
schemathesis on SQLite and PostgreSQL: requests it generates from the document, valid and
invalid ones, never get a 5xx; every status code answered is one the operation documents;
every body matches the documented schema, in the documented media type, with the
documented headers.

Each operation is called signed in with the role it is for, and for the routes on a case
(or a volunteer project) half of the calls name a real case brought to the stage the route
needs, or a real project (the rest use whatever id schemathesis made up), so the calls
reach past "no such case".
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.component.inmemory import Wired, cases_at, wired_system
from tests.strategies import soak

CALLS = 400
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
BASE_URL = "http://appeal.test"
SIGNED_IN_AS = {
    "POST /api/cases": "U100", "GET /api/cases": "U900", "GET /api/cases/{case_id}": "U100",
    "GET /api/branches/{branch_code}/tasks": "M001", "POST /api/tasks/{case_id}/claim": "M001",
    "POST /api/tasks/{case_id}/respond": "M001", "POST /api/tasks/{case_id}/resolve": "M001",
    "POST /api/tasks/{case_id}/return": "M001", "POST /api/tasks/{case_id}/suspend": "M001",
    "POST /api/tasks/{case_id}/resume": "M001", "POST /api/cases/{case_id}/evaluation": "M001",
    "POST /api/cases/{case_id}/extension": "U900", "POST /api/cases/{case_id}/reassign": "U900",
    "POST /api/cases/{case_id}/urge": "U900",
    "POST /api/projects": "M001", "GET /api/projects": "M004", "GET /api/projects/{project_id}": "M001",
    "POST /api/projects/{project_id}/claim": "M004", "POST /api/projects/{project_id}/withdraw": "M004",
    "POST /api/projects/{project_id}/check-in": "M004", "POST /api/projects/{project_id}/check-out": "M004",
    "POST /api/projects/{project_id}/report": "M004",
    "POST /api/projects/{project_id}/members/{member_id}/confirm": "U900",
    "POST /api/projects/{project_id}/member-evaluation": "M001",
    "GET /api/points/members/{member_id}": "U900", "GET /api/points/leaderboard": "U900",
}
STAGE = {
    "GET /api/cases/{case_id}": "dispatched", "POST /api/tasks/{case_id}/claim": "dispatched",
    "POST /api/tasks/{case_id}/respond": "claimed", "POST /api/tasks/{case_id}/resolve": "claimed",
    "POST /api/tasks/{case_id}/return": "claimed", "POST /api/tasks/{case_id}/suspend": "claimed",
    "POST /api/tasks/{case_id}/resume": "suspended", "POST /api/cases/{case_id}/feedback": "resolved",
    "POST /api/cases/{case_id}/evaluation": "resolved", "POST /api/cases/{case_id}/extension": "dispatched",
    "POST /api/cases/{case_id}/reassign": "dispatched", "POST /api/cases/{case_id}/urge": "claimed",
}


class Contract:
    def __init__(self, wired: Wired, tokens: dict[str, dict[str, str]], cases: dict[str, tuple[str, str]],
                 project_id: str = "") -> None:
        self.wired = wired
        self.tokens = tokens
        self.cases = cases
        self.project_id = project_id
        """A volunteer project of S01, for the routes on a project."""
        self.schema = schemathesis.openapi.from_dict(wired.system.app.openapi())
        self.operations = [result.ok() for result in self.schema.get_all_operations()]
        self.strategies = [(f"{op.method.upper()} {op.path}", mode, op.as_strategy(generation_mode=mode))
                           for op in self.operations for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]


@pytest.fixture
async def contract(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        tokens = {who: await wired.api.login(who) for who in set(SIGNED_IN_AS.values())}
        cases = await cases_at(wired, STAGE)
        start = datetime.now(UTC) + timedelta(days=1)
        project = await wired.api.http.post("/api/projects", headers=tokens["M001"], json={
            "title": "独居老人上门探访", "description": "陪伴聊天", "place": "三坊七巷社区服务站", "slots": 2,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()})
        assert project.status_code == 201, project.text
        yield Contract(wired, tokens, cases, project.json()[0]["project_id"])


def request_of(case, contract: Contract, name: str, real_case: bool) -> dict[str, Any]:
    if real_case and name in contract.cases:
        case_id, code = contract.cases[name]
        case.path_parameters = {**(case.path_parameters or {}), "case_id": case_id}
        if isinstance(case.body, dict) and "tracking_code" in case.body:
            case.body = {**case.body, "tracking_code": code}
    if real_case and "project_id" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "project_id": contract.project_id}
    if real_case and "branch_code" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "branch_code": "B0101"}
    who = SIGNED_IN_AS.get(name)
    sent = case.as_transport_kwargs(base_url=BASE_URL, headers=contract.tokens[who] if who else None)
    content = sent.get("data")
    if "json" in sent:
        content = json.dumps(sent["json"], allow_nan=True).encode("utf-8", "surrogatepass")
    return {"method": sent["method"], "url": sent["url"], "params": sent.get("params") or None,
            "headers": sent.get("headers"), "cookies": sent.get("cookies") or None, "content": content}


async def one_call(contract: Contract, data) -> None:
    name, mode, strategy = data.draw(st.sampled_from(contract.strategies), label="operation")
    case = data.draw(strategy, label="case")
    sent = request_of(case, contract, name, real_case=data.draw(st.booleans(), label="real case"))
    try:
        request = httpx.Request(**sent)
    except (UnicodeEncodeError, TypeError, ValueError):
        assume(False)  # a header or cookie no HTTP client could send
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=contract.wired.system.app),
                                 base_url=BASE_URL) as http:
        response = await http.send(request)
    event(f"{name} {mode.value} → {response.status_code}")
    # Without a broker no service consumes, so /readyz rightly (and documentedly) answers 503 here.
    case.validate_response(response, checks=CHECKS if name != "GET /readyz" else CHECKS[1:])


SETTINGS = {"deadline": None, "derandomize": True, "database": None,
            "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large, HealthCheck.filter_too_much]}
test_every_answer_keeps_the_documented_contract = settings(max_examples=CALLS, **SETTINGS)(
    given(data=st.data())(one_call))
test_every_answer_keeps_the_documented_contract_soak = soak(settings(max_examples=CALLS * 10, **SETTINGS)(
    given(data=st.data())(one_call)))
