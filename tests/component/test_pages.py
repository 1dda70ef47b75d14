"""The pages, driven as a browser would without JavaScript, on SQLite and PostgreSQL: sign-in
and its cookies, CSRF on every form, who may open which page, and each person's job from
form to confirmation. The browser tests (tests/e2e) do the same in Chromium."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from shared.clock import FakeClock
from tests.component.inmemory import NOISE_REPORT, Wired, cases_at, wired_system

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One person's cookie jar on the in-memory system."""

    def __init__(self, wired: Wired, base_url: str = "http://appeal.test") -> None:
        self.wired = wired
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=wired.system.app), base_url=base_url)

    async def token(self, path: str = "/login") -> str:
        page = await self.http.get(path)
        found = CSRF.search(page.text)
        assert found, f"no form token on {path}"
        return found.group(1)

    async def sign_in(self, user_id: str, password: str = "demo") -> httpx.Response:
        return await self.http.post("/login", data={"user_id": user_id, "password": password,
                                                    "csrf_token": await self.token()})

    async def post(self, path: str, form: dict[str, str], *, token_from: str) -> httpx.Response:
        return await self.http.post(path, data={**form, "csrf_token": await self.token(token_from)})


@asynccontextmanager
async def browser_as(wired: Wired, user_id: str | None) -> AsyncIterator[Browser]:
    browser = Browser(wired)
    try:
        if user_id:
            signed = await browser.sign_in(user_id)
            assert signed.status_code == 303, signed.text
        yield browser
    finally:
        await browser.http.aclose()


def alerts(page: httpx.Response) -> list[str]:
    return re.findall(r'class="(?:problem|error)"[^>]*>([^<]+)<', page.text)


def notice(page: httpx.Response) -> str:
    found = re.search(r'class="notice" role="status">([^<]+)<', page.text)
    return found.group(1) if found else ""


async def test_sign_in_sets_a_protected_cookie_and_lands_on_each_persons_own_page(tmp_path, database_url):
    homes = {"U100": "/operator", "M001": "/member", "U900": "/supervisor", "U800": "/supervisor"}
    async with wired_system(tmp_path, database_url) as wired:
        for user_id, home in homes.items():
            async with browser_as(wired, None) as browser:
                signed = await browser.sign_in(user_id)
                assert signed.status_code == 303 and signed.headers["location"] == home, user_id
                cookies = signed.headers.get_list("set-cookie")
                session = next(c for c in cookies if c.startswith("appeal_session="))
                assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
                assert "Secure" not in session  # plain http here; https below
        async with browser_as(wired, None) as browser:
            login_page = await browser.http.get("/login")
            csrf_cookie = next(c for c in login_page.headers.get_list("set-cookie") if c.startswith("appeal_csrf="))
            assert "HttpOnly" in csrf_cookie and "SameSite=strict" in csrf_cookie
            assert '<html lang="zh-CN">' in login_page.text
            assert 'for="user_id"' in login_page.text and 'for="password"' in login_page.text
        secure = Browser(wired, base_url="https://appeal.test")
        signed = await secure.sign_in("U100")
        assert all("Secure" in c for c in signed.headers.get_list("set-cookie"))
        await secure.http.aclose()


async def test_a_wrong_password_says_so_in_words_and_a_page_needing_sign_in_sends_there_and_back(
        tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired, browser_as(wired, None) as browser:
        wrong = await browser.sign_in("U100", "wrong")
        assert wrong.status_code == 401 and alerts(wrong) == ["工号或密码不对，请重新输入。"]
        assert "appeal_session=" not in wrong.headers.get("set-cookie", "")
        empty = await browser.http.post("/login", data={"user_id": "", "password": "",
                                                        "csrf_token": await browser.token()})
        assert empty.status_code == 422 and {"请填写工号", "请填写密码"} <= set(alerts(empty))
        sent = await browser.http.get("/operator/cases?q=噪音")
        assert sent.status_code == 303 and sent.headers["location"].startswith("/login?next=/operator/cases")
        back = await browser.http.post("/login", data={"user_id": "U100", "password": "demo", "next": "/operator/cases",
                                                       "csrf_token": await browser.token()})
        assert back.headers["location"] == "/operator/cases"
        elsewhere = await browser.http.post("/login", data={"user_id": "U100", "password": "demo",
                                                            "next": "//evil.example/x",
                                                            "csrf_token": await browser.token("/operator")})
        assert elsewhere.headers["location"] == "/operator", "sign-in must never send people to another site"


async def test_sign_out_ends_the_session(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired, browser_as(wired, "U100") as browser:
        out = await browser.post("/logout", {}, token_from="/operator")
        assert out.status_code == 303 and 'appeal_session=""' in out.headers["set-cookie"]
        assert (await browser.http.get("/operator")).status_code == 303


PAGE_ROUTES = ("/operator", "/operator/cases", "/member", "/member/mine", "/supervisor")
OPENS = {  # who may open which page; everyone else signed in gets 403, nobody signed in goes to /login
    "/operator": {"U100"},
    "/operator/cases": {"U100", "U900", "U800"},
    "/member": {"M001", "M005"},
    "/member/mine": {"M001", "M005"},
    "/supervisor": {"U900", "U800"},
}


@pytest.mark.parametrize("user_id", [None, "U100", "M001", "M005", "U900", "U800"])
async def test_who_may_open_which_page(tmp_path, database_url, user_id):
    async with wired_system(tmp_path, database_url) as wired, browser_as(wired, user_id) as browser:
        for path in PAGE_ROUTES:
            page = await browser.http.get(path)
            if user_id is None:
                assert page.status_code == 303 and page.headers["location"].startswith("/login"), path
            elif user_id in OPENS[path]:
                assert page.status_code == 200, (path, user_id, page.text[:300])
            else:
                assert page.status_code == 403 and "身份" in page.text, (path, user_id)


async def test_every_form_without_this_browsers_token_is_refused_and_changes_nothing(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        cases = await cases_at(wired, {"open": "dispatched"})
        case_id = cases["open"][0]
        forged = {"/login": {"user_id": "U100", "password": "demo"},
                  "/operator/cases": {"source": "hotline", "description": "伪造的诉求"},
                  f"/member/tasks/{case_id}/claim": {},
                  "/track": {"case_no": "x", "tracking_code": "y"},
                  "/track/rating": {"case_id": case_id, "tracking_code": cases["open"][1], "rating": "5",
                                    "resolved": "true"},
                  "/logout": {}}
        for signed_in in ("U100", "M001"):
            async with browser_as(wired, signed_in) as browser:
                for path, form in forged.items():
                    for token in (None, "0" * 40):
                        data = form if token is None else {**form, "csrf_token": token}
                        refused = await browser.http.post(path, data=data)
                        assert refused.status_code == 403, (path, token, refused.status_code)
                        assert "页面已过期" in refused.text
        async with browser_as(wired, "U100") as operator:
            listed = await operator.http.get("/operator/cases")
            assert "伪造的诉求" not in listed.text
        async with browser_as(wired, "M001") as member:
            board = await member.http.get("/member")
            assert f"/member/tasks/{case_id}/claim" in board.text, "the forged claim went through"


async def test_an_operator_files_a_case_is_told_what_to_fix_and_finds_it_again(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired, browser_as(wired, "U100") as operator:
        empty = await operator.post("/operator/cases", {"source": "hotline", "description": " "},
                                    token_from="/operator")
        assert empty.status_code == 422 and "请填写问题描述" in alerts(empty)
        bad = await operator.post("/operator/cases", {"source": "hotline", "description": "路灯坏了",
                                                      "citizen_phone": "打电话给我", "description_extra": "x"},
                                  token_from="/operator")
        assert bad.status_code == 422 and "联系电话格式不对" in alerts(bad)
        assert "路灯坏了" in bad.text, "what was typed must survive the error"
        too_long = await operator.post("/operator/cases", {"source": "hotline", "description": "噪" * 4001},
                                       token_from="/operator")
        assert "问题描述最多4000个字，请删减" in alerts(too_long)
        filed = await operator.post("/operator/cases", {**NOISE_REPORT, "grid_code": "G010101"},
                                    token_from="/operator")
        assert filed.status_code == 303
        case_page = await operator.http.get(filed.headers["location"])
        assert "已登记" in notice(case_page)
        case_no = re.search(r"/cases/([^?]+)", filed.headers["location"]).group(1)
        tracking = re.search(r'查询码 <span class="big">([A-Z0-9]{10})<', case_page.text)
        assert tracking and case_no in case_page.text
        await wired.deliver()
        again = await operator.post("/operator/cases", {**NOISE_REPORT, "grid_code": "G010101"},
                                    token_from="/operator")
        second = await operator.http.get(again.headers["location"])
        assert "同一网格或地址还有未办结的同类诉求" in second.text and case_no in second.text
        check = await operator.http.get("/operator/check", params={"description": "楼上装修噪音",
                                                                   "address": NOISE_REPORT["address"]})
        assert check.json()["category"] == "noise" and case_no in [c["case_no"] for c in check.json()["similar"]]
        for query in ({"phone": "13800000001"}, {"case_no": case_no}, {"q": "装修"}, {"status": "dispatched"},
                      {"branch_code": "B0101"}, {"registered_from": "2000-01-01", "registered_to": "2100-01-01"}):
            found = await operator.http.get("/operator/cases", params=query)
            assert found.status_code == 200 and case_no in found.text, query
        for query in ({"phone": "13999999999"}, {"registered_to": "2000-01-01"}, {"status": "closed"}):
            assert case_no not in (await operator.http.get("/operator/cases", params=query)).text, query
        wrong_date = await operator.http.get("/operator/cases", params={"registered_from": "12/01"})
        assert wrong_date.status_code == 422 and "日期格式应为 2026-12-01" in alerts(wrong_date)
        timeline = await operator.http.get(f"/cases/{case_no}")
        assert "登记受理" in timeline.text and "派单至三坊七巷社区党支部" in timeline.text


async def test_a_supervisor_searches_their_street_without_phone_numbers(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        await cases_at(wired, {"a": "dispatched"})
        async with browser_as(wired, "U900") as own, browser_as(wired, "U910") as other:
            mine = await own.http.get("/operator/cases")
            assert "南后街12号" in mine.text and "13800000001" not in mine.text and "138****0001" in mine.text
            assert "南后街12号" not in (await other.http.get("/operator/cases")).text
            by_phone = await own.http.get("/operator/cases", params={"phone": "13800000001"})
            assert by_phone.status_code == 422 and "按电话查询仅限话务员" in alerts(by_phone)


async def test_a_member_claims_responds_and_resolves_and_loses_a_race_in_words(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        case_id, _code = (await cases_at(wired, {"a": "dispatched"}))["a"]
        async with browser_as(wired, "M001") as zhang, browser_as(wired, "M002") as lin:
            board = await zhang.http.get("/member")
            assert "接单</button>" in board.text and "138****0001" in board.text and "13800000001" not in board.text
            assert re.search(r'<time class="countdown[^"]*" datetime="[^"]+">剩余', board.text)
            claimed = await zhang.post(f"/member/tasks/{case_id}/claim", {}, token_from="/member")
            assert claimed.status_code == 303
            assert notice(await zhang.http.get(claimed.headers["location"])) == "已接单，请尽快联系群众。"
            lost = await lin.post(f"/member/tasks/{case_id}/claim", {}, token_from="/member")
            assert lost.status_code == 409 and alerts(lost) == ["这个任务已被其他党员接单，或已不在待接单状态。"]
            assert case_id in (await zhang.http.get("/member/mine")).text
            assert case_id not in (await lin.http.get("/member/mine")).text
            no_reason = await zhang.post(f"/member/tasks/{case_id}/suspend", {"limit": "2h"},
                                         token_from=f"/member/tasks/{case_id}")
            assert no_reason.status_code == 422 and "请填写挂起原因" in alerts(no_reason)
            suspended = await zhang.post(f"/member/tasks/{case_id}/suspend", {"text": "电话无人接听", "limit": "2h"},
                                         token_from=f"/member/tasks/{case_id}")
            assert notice(await zhang.http.get(suspended.headers["location"])) == "已挂起，响应时限暂停。"
            resumed = await zhang.post(f"/member/tasks/{case_id}/resume", {}, token_from=f"/member/tasks/{case_id}")
            assert resumed.status_code == 303
            responded = await zhang.post(f"/member/tasks/{case_id}/respond",
                                         {"text": "已电话联系王女士，她的新号码13912345678"},
                                         token_from=f"/member/tasks/{case_id}")
            assert notice(await zhang.http.get(responded.headers["location"])) == "已记录：已联系群众。"
            resolved = await zhang.post(f"/member/tasks/{case_id}/resolve", {"text": "已协调施工方停工"},
                                        token_from=f"/member/tasks/{case_id}")
            assert notice(await zhang.http.get(resolved.headers["location"])) == "已办结，等待群众评价。"
        async with browser_as(wired, "M005") as neighbour:
            assert (await neighbour.http.get(f"/member/tasks/{case_id}")).status_code == 404
        await wired.deliver()
        async with browser_as(wired, "U100") as operator:
            case_no = re.search(r'<a href="/cases/([^"]+)">', (await operator.http.get("/operator/cases")).text)
            assert case_no
            timeline = (await operator.http.get(f"/cases/{case_no.group(1)}")).text
            assert "她的新号码139****5678" in timeline and "13912345678" not in timeline, \
                "a phone number typed into a note on the page must be masked as the API masks it"


async def test_a_member_returns_a_task_with_a_reason(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        case_id, _code = (await cases_at(wired, {"a": "dispatched"}))["a"]
        async with browser_as(wired, "M001") as zhang:
            silent = await zhang.post(f"/member/tasks/{case_id}/return", {"text": " "},
                                      token_from=f"/member/tasks/{case_id}")
            assert silent.status_code == 422 and "请填写退单原因" in alerts(silent)
            returned = await zhang.post(f"/member/tasks/{case_id}/return", {"text": "不属于本社区辖区"},
                                        token_from=f"/member/tasks/{case_id}")
            assert returned.headers["location"] == "/member?done=return"
            assert "已退单" in notice(await zhang.http.get(returned.headers["location"]))


async def test_a_citizen_tracks_by_case_number_sees_plain_words_only_and_rates(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        case_id, code = (await cases_at(wired, {"a": "resolved"}))["a"]
        async with browser_as(wired, "U100") as operator:
            case_no = re.search(r"<strong>([0-9-]+)</strong>", (await operator.http.get("/operator/cases")).text)
        assert case_no
        async with browser_as(wired, None) as citizen:
            wrong = await citizen.post("/track", {"case_no": case_no.group(1), "tracking_code": "ZZZZZZZZZZ"},
                                       token_from="/track")
            assert wrong.status_code == 401 and alerts(wrong) == ["案件编号或查询码不对，请核对后再试。"]
            seen = await citizen.post("/track", {"case_no": case_no.group(1), "tracking_code": code.lower()},
                                      token_from="/track")
            assert seen.status_code == 200
            for words in ("诉求已受理", "已派单至三坊七巷社区党支部", "党员已接单", "党员已与您联系",
                          "已办结，请您评价", "已协调施工方停工"):
                assert words in seen.text, words
            for internal in ("M001", "张伟", "已电话联系王女士", "13800000001", "138****0001"):
                assert internal not in seen.text, internal
            assert 'action="/track/rating"' in seen.text
            rated = await citizen.post("/track/rating", {"case_id": case_id, "case_no": case_no.group(1),
                                                         "tracking_code": code, "rating": "5", "resolved": "true",
                                                         "comment": "很及时"}, token_from="/track")
            assert rated.status_code == 200 and "感谢您的评价！案件已结案。" in rated.text
            twice = await citizen.post("/track/rating", {"case_id": case_id, "tracking_code": code, "rating": "1",
                                                         "resolved": "false"}, token_from="/track")
            assert twice.status_code == 409 and "您已经评价过" in twice.text
        api = await wired.api.http.get(f"/api/cases/by-number/{case_no.group(1)}", params={"tracking_code": code})
        assert api.status_code == 200 and api.json()["case_no"] == case_no.group(1) and "member_id" not in api.json()
        unknown = await wired.api.http.get("/api/cases/by-number/350102-20000101-999999",
                                           params={"tracking_code": code})
        assert unknown.status_code == 404


async def test_the_supervisor_sees_what_is_about_to_breach_masked_and_extends_it(tmp_path, database_url):
    clock = FakeClock()
    report = {**NOISE_REPORT, "description": "南后街12号楼下装修噪音很大，回电 139 1234 5678"}
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        operator = await wired.api.login("U100")
        created = await wired.api.http.post("/api/cases", json=report, headers=operator)
        case_id, case_no = created.json()["case_id"], created.json()["case_no"]
        await wired.deliver()
        async with browser_as(wired, "U900") as lin, browser_as(wired, "U910") as zheng:
            calm = await lin.http.get("/supervisor")
            assert case_no not in calm.text, "ten minutes to go is not yet worth a supervisor's attention"
            clock.advance(minutes=7, seconds=50)
            assert case_no not in (await lin.http.get("/supervisor")).text, "the clock warns at 8 of 10 minutes"
            clock.advance(seconds=20)
            soon = await lin.http.get("/supervisor")
            assert case_no in soon.text and "接单即将超时" in soon.text
            assert "139 1234 5678" not in soon.text and "139 **** 5678" in soon.text
            assert 'class="num"' in soon.text and "三坊七巷社区党支部" in soon.text
            assert case_no not in (await zheng.http.get("/supervisor")).text, "another street's case"
            refused = await zheng.post(f"/supervisor/cases/{case_id}/extension",
                                       {"case_no": case_no, "stage": "accept", "extend_by": "30m", "reason": "约定"},
                                       token_from="/supervisor")
            assert "延期失败：这个案件不归您的街道。" in alerts(await zheng.http.get(refused.headers["location"]))
            missing = await lin.post(f"/supervisor/cases/{case_id}/extension",
                                     {"case_no": case_no, "stage": "accept", "extend_by": "30m", "reason": " "},
                                     token_from="/supervisor")
            assert alerts(await lin.http.get(missing.headers["location"])) == ["延期失败：请选择延期时长并填写原因。"]
            granted = await lin.post(f"/supervisor/cases/{case_id}/extension",
                                     {"case_no": case_no, "stage": "accept", "extend_by": "30m",
                                      "reason": "群众约定下午在家"}, token_from="/supervisor")
            assert notice(await lin.http.get(granted.headers["location"])) == "已延期，承办支部的时限已顺延。"
            await wired.deliver()
            assert case_no not in (await lin.http.get("/supervisor")).text, "thirty more minutes: off the watchlist"


NOWHERE = {"source": "hotline", "description": "路灯坏了一个星期没人修", "citizen_name": "陈先生"}
"""Names no community: it waits in the first street's queue (鼓东街道, S01)."""


async def test_the_supervisor_hands_a_queued_case_to_a_branch_and_urges_one_the_member_sees_it(
        tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        urged_id, _code = (await cases_at(wired, {"a": "dispatched"}))["a"]
        queued = await wired.api.http.post("/api/cases", json=NOWHERE, headers=await wired.api.login("U100"))
        queued_id, queued_no = queued.json()["case_id"], queued.json()["case_no"]
        await wired.deliver()
        async with browser_as(wired, "U900") as lin, browser_as(wired, "M001") as zhang:
            overview = await lin.http.get("/supervisor")
            queue = overview.text.split("街道队列")[1].split("支部排行")[0]
            assert queued_no in queue and f"/supervisor/cases/{queued_id}/reassign" in queue
            handed = await lin.post(f"/supervisor/cases/{queued_id}/reassign",
                                    {"case_no": queued_no, "branch_code": "B0101", "reason": "就近办理"},
                                    token_from="/supervisor")
            assert notice(await lin.http.get(handed.headers["location"])) == "已改派，新的承办支部重新计时。"
            again = await lin.post(f"/supervisor/cases/{queued_id}/reassign",
                                   {"case_no": queued_no, "branch_code": "B0101"}, token_from="/supervisor")
            assert alerts(await lin.http.get(again.headers["location"])) == [
                "改派失败：案件已办结、已在该支部，或尚未到超时预警。"]
            urged = await lin.post(f"/supervisor/cases/{urged_id}/urge",
                                   {"case_no": "x", "note": "群众反映强烈，请今天上门，电话13912345678"},
                                   token_from="/supervisor")
            assert notice(await lin.http.get(urged.headers["location"])) == "已督办，承办支部的任务板上会醒目显示。"
            await wired.deliver()
            board = await zhang.http.get("/member")
            assert f"/member/tasks/{queued_id}/claim" in board.text, "the reassigned case is on the branch's board"
            before, after = board.text.split(f'<a href="/member/tasks/{urged_id}">', 1)
            card = before.rsplit("<li", 1)[1] + after.split("</li>", 1)[0]
            assert 'class="card task urged"' in card and '<span class="tag urged">督办' in card
            assert "群众反映强烈，请今天上门" in board.text and "13912345678" not in board.text
        async with browser_as(wired, "U100") as operator:
            reassigned = await operator.http.get(f"/cases/{queued_no}")
            assert "派单至三坊七巷社区党支部（街道改派）" in reassigned.text
            urged_no = re.search(r'<a href="/cases/([^"]+)">', (await operator.http.get(
                "/operator/cases", params={"q": "装修"})).text)
            assert urged_no
            assert "林主任（U900）督办：群众反映强烈" in (await operator.http.get(f"/cases/{urged_no.group(1)}")).text


async def test_forms_of_another_role_are_refused_with_the_form_token_valid(tmp_path, database_url):
    """A valid CSRF token is not a permission: each action's page route checks the role too."""
    async with wired_system(tmp_path, database_url) as wired:
        case_id, _code = (await cases_at(wired, {"a": "dispatched"}))["a"]
        actions = {f"/member/tasks/{case_id}/claim": ("M001", {}),
                   f"/supervisor/cases/{case_id}/urge": ("U900", {"case_no": "x"}),
                   f"/supervisor/cases/{case_id}/reassign": ("U900", {"case_no": "x", "branch_code": "B0102"}),
                   f"/supervisor/cases/{case_id}/extension": ("U900", {"case_no": "x", "stage": "accept",
                                                                        "extend_by": "30m", "reason": "约定"}),
                   "/operator/cases": ("U100", {"source": "hotline", "description": "别人的诉求"})}
        for path, (allowed, form) in actions.items():
            for user_id in ("U100", "M001", "U900", "U910"):
                if user_id == allowed or (user_id == "U910" and allowed == "U900"):
                    continue
                async with browser_as(wired, user_id) as browser:
                    refused = await browser.post(path, form, token_from="/")
                    assert refused.status_code == 403 and "身份" in refused.text, (path, user_id)
        async with browser_as(wired, "M001") as zhang:
            assert f"/member/tasks/{case_id}/claim" in (await zhang.http.get("/member")).text, "nothing moved"
        async with browser_as(wired, "U100") as operator:
            case_no = re.search(r'<a href="/cases/([^"]+)">', (await operator.http.get("/operator/cases")).text)
        assert case_no
        for user_id, status in (("M001", 200), ("M005", 403), ("U900", 200), ("U910", 403), ("U800", 200)):
            async with browser_as(wired, user_id) as browser:
                seen = await browser.http.get(f"/cases/{case_no.group(1)}")
                assert seen.status_code == status, user_id
                assert "13800000001" not in seen.text, "only the operator sees the phone number in full"


async def test_the_supervisor_acts_on_a_case_from_its_own_page_and_comes_back_to_it(tmp_path, database_url):
    async with wired_system(tmp_path, database_url) as wired:
        case_id, _code = (await cases_at(wired, {"a": "dispatched"}))["a"]
        async with browser_as(wired, "U900") as lin:
            case_no = re.search(r'<a href="/cases/([^"]+)">', (await lin.http.get("/operator/cases")).text)
            assert case_no
            page = await lin.http.get(f"/cases/{case_no.group(1)}")
            for action in ("urge", "extension", "reassign"):
                assert f'action="/supervisor/cases/{case_id}/{action}"' in page.text, action
            urged = await lin.post(f"/supervisor/cases/{case_id}/urge",
                                   {"case_no": case_no.group(1), "back": "case", "note": "请今天上门"},
                                   token_from="/supervisor")
            assert urged.headers["location"].startswith(f"/cases/{case_no.group(1)}?")
            assert notice(await lin.http.get(urged.headers["location"])) == "已督办，承办支部的任务板上会醒目显示。"
            extended = await lin.post(f"/supervisor/cases/{case_id}/extension",
                                      {"case_no": case_no.group(1), "back": "case", "stage": "accept",
                                       "extend_by": "1h", "reason": "群众出差"}, token_from="/supervisor")
            assert notice(await lin.http.get(extended.headers["location"])) == "已延期，承办支部的时限已顺延。"
        async with browser_as(wired, "U100") as operator:
            assert 'action="/supervisor/cases/' not in (await operator.http.get(f"/cases/{case_no.group(1)}")).text
