"""Who may do what: every endpoint that depends on who calls (all but sign-in and the ops
routes, which anyone may call) against every kind of caller, on SQLite and PostgreSQL.

Two noise complaints at 南后街 are registered and dispatched to 三坊七巷社区党支部 (B0101,
street S01 鼓东街道) with the services wired in memory: case A waits to be claimed, case
B is already claimed by 张伟 (M001), case Q (a report that names no community) waits in
S01's queue. Then the table below is played row by row, top to
bottom, each row's cells left to right, so a row runs against the state the rows above
left (Q is reassigned (改派) to B0103 in its row, so the command center after the
street's supervisor finds it there already; A, on time, may not be reassigned; A is
claimed in the claim row, resolved in the resolve row, rated in the rate row). A refusal
that wrongly went through would change that state and show up in the cells after it too.

The callers:

- ``anon``: no token and no tracking code;
- ``U100`` an operator; ``M001`` a member of B0101 (the one who claims); ``M002``
  another member of B0101; ``M005`` a member of B0102, a neighbouring branch of the same
  street; ``U900`` the supervisor of S01; ``U910`` the supervisor of S02; ``U800`` the
  district's command center: each with their bearer token and no tracking code, except
  on the rate row, where each sends a wrong one (a token never stands in for it);
- ``citizen``: no token, the case's tracking code; ``wrong``: no token, a wrong code.

A cell is the status, and for reads what the caller got: ``full`` (the case as filed,
phone number included), ``mask`` (the staff view, phone number masked), ``pub`` (the
citizen's public view), ``sees``/``none`` (whether case A is on the list or board).
Case B, returned by M001, goes to the next branch of the street (B0102): B0101 loses it,
M005 gains it.
"""

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.component.inmemory import NOISE_REPORT, Wired, cases_at, wired_system

CALLERS = ("anon", "U100", "M001", "M002", "M005", "U900", "U910", "U800", "citizen", "wrong")
STAFF = ("U100", "M001", "M002", "M005", "U900", "U910", "U800")
WRONG_CODE = "ZZZZZZZZZZ"
NOWHERE = {"source": "grid", "description": "路灯坏了一个星期没人修"}
PHONE = "13800000001"

MATRIX = """
row                anon  U100      M001      M002      M005      U900      U910      U800      citizen  wrong
list cases         401   200 sees  403       403       403       200 sees  200 none  200 sees  401      401
read A             401   200 full  200 mask  200 mask  403       200 mask  403       200 mask  200 pub  401
board B0101        401   403       200 sees  200 sees  403       200 sees  403       200 sees  401      401
queue S01          401   403       403       403       403       200 none  403       200 none  401      401
reassign Q         401   403       403       403       403       200       403       409       401      401
extend A (accept)  401   403       403       403       403       200       403       200       401      401
urge A             401   403       403       403       403       200       403       200       401      401
reassign A         401   403       403       403       403       409       403       409       401      401
claim A            401   403       200       409       403       403       403       403       401      401
suspend A          401   403       200       409       403       403       403       403       401      401
resume A           401   403       200       409       403       403       403       403       401      401
respond A          401   403       200       409       403       403       403       403       401      401
resolve A          401   403       200       409       403       403       403       403       401      401
evaluate A         401   403       201       403       403       403       403       403       401      401
rate A             422   403       403       403       403       403       403       403       200      403
return B           401   403       200       409       403       403       403       403       401      401
read B (returned)  401   200 full  403       403       200 mask  200 mask  403       200 mask  200 pub  401
register a case    401   201       403       403       403       403       403       403       401      401
"""


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    body: dict[str, Any] | None = None
    after: bool = False
    """Relay the events this row caused before the next row (a resolve must reach feedback)."""


ROWS = {
    "list cases": Row("GET", "/api/cases"),
    "read A": Row("GET", "/api/cases/{A}"),
    "board B0101": Row("GET", "/api/branches/B0101/tasks"),
    "queue S01": Row("GET", "/api/branches/S01/tasks"),
    "reassign Q": Row("POST", "/api/cases/{Q}/reassign", {"branch_code": "B0103", "reason": "冶山社区离得近"},
                      after=True),
    "extend A (accept)": Row("POST", "/api/cases/{A}/extension",
                             {"stage": "accept", "extend_by": "30m", "reason": "诉求人出差"}, after=True),
    "urge A": Row("POST", "/api/cases/{A}/urge", {"note": "群众反映强烈，请尽快"}, after=True),
    "reassign A": Row("POST", "/api/cases/{A}/reassign", {"branch_code": "B0102"}),
    "claim A": Row("POST", "/api/tasks/{A}/claim", after=True),
    "suspend A": Row("POST", "/api/tasks/{A}/suspend", {"reason": "电话无人接听", "limit": "1h"}, after=True),
    "resume A": Row("POST", "/api/tasks/{A}/resume", after=True),
    "respond A": Row("POST", "/api/tasks/{A}/respond", {"note": "已电话联系王女士"}, after=True),
    "resolve A": Row("POST", "/api/tasks/{A}/resolve", {"note": "已协调施工方停工"}, after=True),
    "evaluate A": Row("POST", "/api/cases/{A}/evaluation", {"rating": 5, "comment": "诉求人配合"}, after=True),
    "rate A": Row("POST", "/api/cases/{A}/feedback", {"rating": 5, "resolved": True}, after=True),
    "return B": Row("POST", "/api/tasks/{B}/return", {"reason": "不属于本社区"}, after=True),
    "read B (returned)": Row("GET", "/api/cases/{B}"),
    "register a case": Row("POST", "/api/cases", NOISE_REPORT),
}


def parse(table: str) -> dict[str, dict[str, str]]:
    header, *lines = [line for line in table.strip().splitlines() if line.strip()]
    columns = re.split(r"\s{2,}", header.strip())[1:]
    assert tuple(columns) == CALLERS, columns
    rows = {}
    for line in lines:
        name, *cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == len(CALLERS), (name, cells)
        rows[name] = dict(zip(CALLERS, cells, strict=True))
    assert list(rows) == list(ROWS), "the table and ROWS name the same rows in the same order"
    return rows


EXPECTED = parse(MATRIX)


class Caller:
    def __init__(self, wired: Wired, tokens: dict[str, dict[str, str]], cases: dict[str, tuple[str, str]]) -> None:
        self.wired = wired
        self.tokens = tokens
        self.cases = cases

    async def call(self, row: Row, who: str, case: str | None) -> httpx.Response:
        path = row.path.format(**{name: case_id for name, (case_id, _) in self.cases.items()})
        code = {"citizen": self.cases[case][1] if case else None, "wrong": WRONG_CODE}.get(who)
        headers = self.tokens.get(who, {})
        body = row.body
        if body is not None and "rating" in body and "resolved" in body:  # the citizen's rating carries the code
            body = {**body, **({"tracking_code": code or WRONG_CODE} if who != "anon" else {})}
        params = {"tracking_code": code} if code and row.method == "GET" else None
        return await self.wired.api.http.request(row.method, path, json=body, params=params, headers=headers)


def outcome(response: httpx.Response, case_id: str) -> str:
    """The status, and for a successful read what it showed."""
    if response.status_code != 200 or response.request.method != "GET":
        return str(response.status_code)
    body = response.json()
    if isinstance(body, list):  # a board
        return f"200 {'sees' if any(task['case_id'] == case_id for task in body) else 'none'}"
    if "items" in body:
        return f"200 {'sees' if any(item['case_id'] == case_id for item in body['items']) else 'none'}"
    if "citizen_phone" not in body:
        return "200 pub"
    return f"200 {'full' if body['citizen_phone'] == PHONE else 'mask'}"


def report(actual: dict[str, dict[str, str]], details: list[str]) -> str:
    width = max(map(len, ROWS)) + 2
    lines = [f"{'row':<{width}}" + "".join(f"{c:<12}" for c in CALLERS)]
    for name, cells in actual.items():
        shown = [cell if cell == EXPECTED[name][who] else f"{cell}≠{EXPECTED[name][who]}"
                 for who, cell in cells.items()]
        lines.append(f"{name:<{width}}" + "".join(f"{cell:<12}" for cell in shown))
    return "\n".join(["got≠expected where they differ:", *lines, "", *details])


@pytest.fixture
async def caller(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        tokens = {who: await wired.api.login(who) for who in STAFF}
        cases = await cases_at(wired, {"A": "dispatched", "B": "claimed"})
        queued = await wired.api.http.post("/api/cases", json=NOWHERE, headers=tokens["U100"])
        cases["Q"] = queued.json()["case_id"], queued.json()["tracking_code"]
        await wired.deliver()
        yield Caller(wired, tokens, cases)


async def test_who_may_do_what(caller: Caller):
    actual: dict[str, dict[str, str]] = {}
    details: list[str] = []
    for name, row in ROWS.items():
        case = next((name for name in caller.cases if f"{{{name}}}" in row.path), "A")
        actual[name] = {}
        for who in CALLERS:
            response = await caller.call(row, who, case)
            actual[name][who] = outcome(response, caller.cases["A"][0])
            if actual[name][who] != EXPECTED[name][who]:
                details.append(f"{name} / {who}: expected {EXPECTED[name][who]}, got {actual[name][who]}: "
                               f"{response.text[:200]}")
            assert response.status_code < 500, response.text
        if row.after:
            await caller.wired.deliver()
    assert actual == EXPECTED, report(actual, details)
