"""Each person's job on the pages, done in Chromium against `appeal dev`: the operator files
a noise complaint and finds it again, a member works it on a phone, the citizen follows it
and rates it, a street supervisor hands a queued case to a branch and urges another; a
branch secretary publishes a volunteer project that a member claims in the project hall;
two members claim a project's two slots, one withdraws and frees a slot, the other does
it, reports, is confirmed by the secretary and finds the points on 我的积分 and 排行榜.

Every page visited is checked as a person with a phone, a keyboard or a screen reader
meets it: each field has a label, nothing scrolls sideways at 390 px, no request fails or
leaves this machine, no script error. Each page is saved at 390 and 1280 px wide.

Two servers: the sample district for the case's whole loop, and a copy of it whose
clock warns as soon as a case is dispatched, for the supervisor's watchlist (the
sample's ten-minute accept term warns after eight) — started together, since each takes
seconds to come up.
"""

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect
from tenacity import Retrying, stop_after_delay, wait_fixed

from services.claim.projects import LOCAL_TIME
from shared.embedded import free_port
from tests.e2e.browser import DESKTOP, PHONE, Traffic, save_screenshots
from tests.e2e.test_cli import APPEAL, _clean_env, _wait_for_line, stop_with_ctrl_c
from tests.integration.harness import district_file

pytestmark = pytest.mark.e2e
PHONE_DEVICE: dict[str, Any] = {"viewport": PHONE, "is_mobile": True, "has_touch": True}
EVENTS_ARRIVE_WITHIN_S = 20
NOISE = {"description": "南后街12号楼下夜间施工噪音很大，吵得睡不着", "citizen_name": "王女士",
         "citizen_phone": "13800000001", "address": "南后街12号"}
NOWHERE = {"source": "hotline", "description": "路灯坏了一个星期没人修", "citizen_name": "陈先生"}
"""Names no community, address or grid: it waits in the first street's queue (鼓东街道)."""
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter(el => el.type !== "hidden")
  .filter(el => ![...el.labels].some(label => label.textContent.trim())
    && !(el.getAttribute("aria-label") || "").trim()
    && !(el.getAttribute("aria-labelledby") || "").split(/\\s+/)
         .some(id => id && document.getElementById(id)?.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 160))"""
"""Every form control but hidden ones — also those in a closed <details> — with no label
(for= or around it), aria-label or aria-labelledby that says something."""


@dataclass
class Starting:
    """An `appeal dev` already launched; ``url()`` waits until every service consumes."""

    process: subprocess.Popen[str]
    seen: list[str] = field(default_factory=list)
    ready_at: str | None = None

    def url(self) -> str:
        if self.ready_at is None:
            url = _wait_for_line(self.process, r"HTTP\s+(http://\S+)", 30, self.seen).group(1)
            _wait_for_line(self.process, r"ready\s+http", 60, self.seen)
            self.ready_at = url
        return self.ready_at


def warned_at_once_district(directory: Path) -> Path:
    """The sample district with a two-minute accept term that warns 1.2 s after dispatch."""
    path = district_file(directory, accept="2m", respond="10m")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for policy in raw["sla"].values():
        policy["warn_at"] = 0.01
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


# autouse: set up before `dev_server`, so the two servers boot side by side.
@pytest.fixture(scope="module", autouse=True)
def warned_street(tmp_path_factory) -> Iterator[Starting]:
    directory = tmp_path_factory.mktemp("warned-street")
    process = subprocess.Popen(
        [*APPEAL, "dev", "--simulate", "0", "--port", str(free_port()), "--data-dir", str(directory / "data"),
         "--district", str(warned_at_once_district(directory))],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_clean_env())
    try:
        yield Starting(process)
    finally:
        stop_with_ctrl_c(process)


@dataclass
class Person:
    """One person's browser context: their page, every request it made, and every script
    or console error; the refusals a test provokes on purpose are named beforehand."""

    page: Page
    origin: str
    traffic: Traffic = field(default_factory=Traffic)
    errors: list[str] = field(default_factory=list)
    expected: set[tuple[str, str]] = field(default_factory=set)
    """(status, path) of the responses over 400 the test asks for, such as a form sent empty."""

    def go(self, path: str) -> None:
        self.page.goto(self.origin + path)

    def will_be_refused(self, status: int, path: str) -> None:
        self.expected.add((str(status), path))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        status = re.search(r"status of (\d{3})", message.text)
        where = urlsplit(message.location.get("url", "")).path
        if status and (status.group(1), where) in self.expected:
            return
        self.errors.append(f"{message.text} ({message.location.get('url')})")

    def assert_clean(self) -> None:
        self.traffic.assert_stayed_on_this_machine()
        self.traffic.assert_only(self.origin)
        unexpected = [line for line in self.traffic.failed if not self._asked_for(line)]
        assert not unexpected, f"requests that failed: {unexpected}"
        assert not self.errors, f"console or script errors: {self.errors}"

    def _asked_for(self, failure: str) -> bool:
        status, url = failure.split(" ", 1)
        return (status, urlsplit(url).path) in self.expected


@contextmanager
def person(browser: Browser, origin: str, *, phone: bool = False) -> Iterator[Person]:
    device = PHONE_DEVICE if phone else {"viewport": DESKTOP}
    context = browser.new_context(**device, locale="zh-CN", timezone_id="Asia/Shanghai")
    someone = Person(context.new_page(), origin)
    someone.traffic.record(context)
    someone.page.on("console", someone.on_console)
    someone.page.on("pageerror", lambda error: someone.errors.append(f"script error: {error}"))
    try:
        yield someone
        someone.assert_clean()
    finally:
        context.close()


def looked_at(someone: Person, screenshot: str | None = None) -> None:
    """The checks every page gets: labelled fields, no sideways scrolling on a phone or a desk.
    It waits for the page's stylesheet and script first: leaving a page before they arrive
    cancels them, which would count as a failed request."""
    page = someone.page
    page.wait_for_load_state("load")
    unlabelled = page.evaluate(UNLABELLED)
    assert not unlabelled, f"{page.url}: fields without a label: {unlabelled}"
    before = page.viewport_size
    try:
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= size["width"], f"{page.url} scrolls sideways at {size['width']} px: {wide} px wide"
    finally:
        if before is not None:
            page.set_viewport_size(before)
    if screenshot:
        save_screenshots(page, screenshot)


def sign_in(someone: Person, user_id: str) -> None:
    someone.go("/login")
    someone.page.get_by_label("工号").fill(user_id)
    someone.page.get_by_label("密码").fill("demo")
    someone.page.get_by_role("button", name="登录").click()
    expect(someone.page).not_to_have_url(re.compile(r"/login"))
    looked_at(someone)


def notice(page: Page) -> Locator:
    return page.locator("p.notice[role=status]")


def reload_until_visible(page: Page, target: Locator) -> None:
    """What a page shows comes by way of the broker; reload until ``target`` is there."""
    for attempt in Retrying(stop=stop_after_delay(EVENTS_ARRIVE_WITHIN_S), wait=wait_fixed(0.3), reraise=True):
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                page.wait_for_load_state("load")
                page.reload()
            expect(target).to_be_visible(timeout=1000)


def wait_for_status(origin: str, case_no: str, tracking_code: str, status: str) -> None:
    for attempt in Retrying(stop=stop_after_delay(EVENTS_ARRIVE_WITHIN_S), wait=wait_fixed(0.2), reraise=True):
        with attempt:
            seen = httpx.get(f"{origin}/api/cases/by-number/{case_no}", params={"tracking_code": tracking_code})
            assert seen.json()["status"] == status, seen.json()["status"]


def file_by_api(origin: str, **fields: str) -> dict[str, str]:
    signed = httpx.post(f"{origin}/api/auth/login", json={"user_id": "U100", "password": "demo"})
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    created = httpx.post(f"{origin}/api/cases", json={"source": "hotline", **fields}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


def case_card(page: Page, case_no: str) -> Locator:
    return page.locator("li.card", has=page.get_by_role("link", name=case_no, exact=True))


def test_a_noise_complaint_from_the_hotline_to_the_citizens_rating(dev_server, browser: Browser):
    origin = dev_server.url

    with person(browser, origin) as operator:
        page = operator.page
        operator.go("/")
        expect(page.get_by_role("heading", level=1)).to_have_text("鼓楼区诉求闭环")
        looked_at(operator, "landing")
        page.get_by_role("link", name="登录", exact=True).click()
        expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
        looked_at(operator, "login")

        # By keyboard alone: the form puts the cursor in 工号, Tab moves on, Enter sends.
        expect(page.get_by_label("工号")).to_be_focused()
        page.keyboard.type("U100")
        page.keyboard.press("Tab")
        expect(page.get_by_label("密码")).to_be_focused()
        page.keyboard.type("demo")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{origin}/operator")
        expect(page.get_by_role("heading", name="登记诉求")).to_be_visible()
        looked_at(operator, "operator-form")

        operator.will_be_refused(422, "/operator/cases")
        page.get_by_role("button", name="登记并派单").click()
        expect(page.locator("p.error[role=alert]")).to_have_text("有1处需要修改，见下方红字。")
        expect(page.locator("#description-error")).to_have_text("请填写问题描述")
        expect(page.get_by_label("问题描述")).to_have_attribute("aria-invalid", "true")
        looked_at(operator, "operator-form-errors")

        page.get_by_label("群众姓名").fill(NOISE["citizen_name"])
        page.get_by_label("联系电话").fill(NOISE["citizen_phone"])
        page.get_by_label("地址").fill(NOISE["address"])
        page.get_by_label("问题描述").fill(NOISE["description"])
        # The form's script asks the server as it is typed; wait for its answer before sending.
        expect(page.locator("#category-suggestion")).to_have_text("建议分类：噪音扰民")
        page.get_by_role("button", name="登记并派单").click()
        expect(notice(page)).to_contain_text("已登记")
        case_no = page.locator("p", has_text="案件编号").locator(".big").inner_text()
        tracking_code = page.locator("p", has_text="查询码").locator(".big").inner_text()
        assert re.fullmatch(r"350102-\d{8}-\d{6}", case_no), case_no
        assert re.fullmatch(r"[A-Z0-9]{10}", tracking_code), tracking_code
        looked_at(operator, "case-filed")

        page.get_by_role("navigation", name="主导航").get_by_role("link", name="查询").click()
        expect(page.get_by_role("heading", name="查询案件")).to_be_visible()
        looked_at(operator)
        page.get_by_label("联系电话").fill(NOISE["citizen_phone"])
        page.get_by_role("button", name="查询", exact=True).click()
        expect(page).to_have_url(re.compile(r"phone=13800000001"))
        found = case_card(page, case_no)
        expect(found).to_contain_text(NOISE["address"])
        expect(page.get_by_role("heading", name="共 1 件")).to_be_visible()
        looked_at(operator, "case-search")

    with person(browser, origin, phone=True) as zhang:
        page = zhang.page
        sign_in(zhang, "M001")
        expect(page).to_have_url(f"{origin}/member")
        zhang.will_be_refused(403, "/operator")
        zhang.go("/operator")
        expect(page.locator("p.error[role=alert]")).to_have_text(
            "此页面需要话务员身份，您当前以党员身份登录。")
        looked_at(zhang, "error-forbidden")

        page.get_by_role("link", name="支部任务").click()
        card = page.locator("li.task", has_text=case_no)
        reload_until_visible(page, card)
        countdown = card.locator("time.countdown")
        shown = countdown.inner_text()
        assert shown.startswith("剩余"), shown
        expect(countdown).not_to_have_text(shown, timeout=2000)
        expect(card).to_contain_text("138****0001")
        expect(card).not_to_contain_text(NOISE["citizen_phone"])
        looked_at(zhang, "member-board")

        card.get_by_role("button", name="接单").click()
        expect(notice(page)).to_have_text("已接单，请尽快联系群众。")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"任务 {case_no}")
        looked_at(zhang, "member-task")

        page.get_by_label("联系情况（可选）").fill("已电话联系王女士，今晚上门查看")
        page.get_by_role("button", name="已联系群众").click()
        expect(notice(page)).to_have_text("已记录：已联系群众。")
        looked_at(zhang)

        page.get_by_role("link", name="我的任务").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("我的任务")
        mine = page.locator("li.task", has_text=case_no)
        expect(mine.locator(".tag").first).to_have_text("已联系")
        looked_at(zhang, "member-mine")

        mine.get_by_role("link", name="办理").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"任务 {case_no}")
        looked_at(zhang)
        page.get_by_label("办理结果（可选）").fill("已协调施工方停止夜间施工")
        page.get_by_role("button", name="办结", exact=True).click()
        expect(notice(page)).to_have_text("已办结，等待群众评价。")
        looked_at(zhang)

    wait_for_status(origin, case_no, tracking_code, "resolved")
    with person(browser, origin, phone=True) as citizen:
        page = citizen.page
        citizen.go("/track")
        looked_at(citizen, "track-form")
        # By keyboard again, as someone on a phone's keyboard would.
        expect(page.get_by_label("案件编号")).to_be_focused()
        page.keyboard.type(case_no)
        page.keyboard.press("Tab")
        expect(page.get_by_label("查询码")).to_be_focused()
        page.keyboard.type(tracking_code.lower())
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("办理进度")
        timeline = page.locator("ol.timeline")
        for words in ("诉求已受理", "已派单至三坊七巷社区党支部", "党员已接单", "党员已与您联系", "已办结，请您评价"):
            expect(timeline).to_contain_text(words)
        expect(page.locator("dl.facts")).to_contain_text("已协调施工方停止夜间施工")
        for internal in ("M001", "张伟", NOISE["citizen_phone"], "138****0001"):
            expect(page.locator("main")).not_to_contain_text(internal)
        looked_at(citizen, "track-result")

        page.get_by_label("5星").check()
        page.get_by_label("已解决").check()
        page.get_by_label("意见（可选）").fill("处理很及时，谢谢")
        page.get_by_role("button", name="提交评价").click()
        expect(notice(page)).to_have_text("感谢您的评价！案件已结案。")
        looked_at(citizen, "track-rated")


def test_a_supervisor_hands_the_queue_to_a_branch_and_urges_a_case_the_member_sees(
        warned_street: Starting, browser: Browser):
    origin = warned_street.url()
    queued = file_by_api(origin, **NOWHERE)
    warned = file_by_api(origin, **NOISE)

    with person(browser, origin) as lin:
        page = lin.page
        sign_in(lin, "U900")
        expect(page).to_have_url(f"{origin}/supervisor")
        queue = case_card(page, queued["case_no"])
        reload_until_visible(page, queue)
        watch = case_card(page, warned["case_no"])
        reload_until_visible(page, watch)
        expect(watch.locator(".tag.soon")).to_have_text("接单即将超时")
        expect(page.get_by_role("heading", name="街道队列（1）")).to_be_visible()
        expect(page.locator("table tbody tr").first).to_contain_text("三坊七巷社区党支部")
        page.set_viewport_size(PHONE)
        assert page.locator(".table-wrap").evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth"), \
            "the league table needs sideways scrolling on a phone"
        page.set_viewport_size(DESKTOP)
        looked_at(lin, "supervisor")

        expect(queue.locator("summary")).to_have_text("改派")
        queue.locator("summary").click()
        queue.get_by_label("改派给").select_option("B0101")
        queue.get_by_label("改派原因（可选）").fill("就近办理")
        queue.get_by_role("button", name="改派", exact=True).click()
        expect(notice(page)).to_have_text("已改派，新的承办支部重新计时。")
        looked_at(lin)

        watch = case_card(page, warned["case_no"])
        expect(watch.locator("summary")).to_have_text("督办 · 延期 · 改派")
        watch.locator("summary").click()
        watch.get_by_label("督办意见（可选）").fill("群众反映强烈，请今天上门")
        watch.get_by_role("button", name="督办", exact=True).click()
        expect(notice(page)).to_have_text("已督办，承办支部的任务板上会醒目显示。")
        looked_at(lin)

    with person(browser, origin, phone=True) as zhang:
        page = zhang.page
        sign_in(zhang, "M001")
        urged = page.locator("li.task.urged", has_text=warned["case_no"])
        reload_until_visible(page, urged)
        expect(urged.locator(".tag.urged")).to_have_text(re.compile(r"^督办"))
        expect(urged.locator("p.warning")).to_have_text("督办：群众反映强烈，请今天上门")
        handed = page.locator("li.task", has_text=queued["case_no"])
        reload_until_visible(page, handed)
        expect(handed.get_by_role("button", name="接单")).to_be_visible()
        looked_at(zhang, "member-board-urged")


def test_a_secretary_publishes_a_project_and_a_member_claims_it_on_a_phone(dev_server, browser: Browser):
    origin = dev_server.url
    start = (datetime.now(LOCAL_TIME) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)

    with person(browser, origin, phone=True) as zhang:
        page = zhang.page
        sign_in(zhang, "M001")
        page.get_by_role("link", name="服务大厅").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("服务大厅")
        page.get_by_role("link", name="发布项目").click()
        looked_at(zhang, "project-form")
        page.get_by_label("项目名称").fill("独居老人上门探访")
        page.get_by_label("服务内容").fill("陪伴聊天，检查燃气、用电安全")
        page.get_by_label("服务地点").fill("三坊七巷社区服务站")
        page.get_by_label("开始时间").fill(start.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("结束时间").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("名额", exact=True).fill("2")
        page.get_by_label("养老服务").check()
        page.get_by_role("button", name="发布", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("项目已发布")
        expect(page.locator("strong.big")).to_have_text(re.compile(r"^[2-9A-Z]{10}$"))
        looked_at(zhang, "project-published")

    with person(browser, origin, phone=True) as huang:
        page = huang.page
        sign_in(huang, "M004")
        huang.go("/member/projects")
        card = page.locator("li.project", has_text="独居老人上门探访")
        expect(card.locator(".tag.match")).to_have_text("符合我的技能")
        looked_at(huang, "member-projects")
        card.get_by_role("button", name="认领").click()
        expect(notice(page)).to_have_text("已认领，请按时参加。")
        expect(page.get_by_role("button", name="签到")).to_be_visible()
        looked_at(huang, "member-project")

    with person(browser, origin) as lin:
        page = lin.page
        sign_in(lin, "U900")
        page.get_by_role("link", name="志愿项目").click()
        expect(page.locator("li.project", has_text="独居老人上门探访")).to_contain_text("黄丽华")
        looked_at(lin, "supervisor-projects")
        page.get_by_role("link", name="发布项目").click()
        looked_at(lin, "supervisor-project-form")


def project_card(page: Page, title: str) -> Locator:
    return page.locator("li.project", has=page.get_by_role("link", name=title, exact=True))


def fact(page: Page, term: str) -> Locator:
    """What the project page says for ``term`` (名额 says ``filled/slots``)."""
    return page.locator(f"dl.facts dt:text-is('{term}') + dd")


def test_two_members_claim_a_project_one_withdraws_the_other_is_confirmed_and_sees_the_points(
        dev_server, browser: Browser):
    origin = dev_server.url
    title, points, report = "南后街垃圾分类入户宣传", 20, "走访18户，讲解分类投放，发放宣传册"
    now = datetime.now(LOCAL_TIME).replace(second=0, microsecond=0)
    # Check-in opens an hour before the start: with the start half an hour away it is open
    # at once, and claims close a quarter of an hour from now, after the withdrawal.
    start, cutoff = now + timedelta(minutes=30), now + timedelta(minutes=15)

    with (person(browser, origin, phone=True) as zhang, person(browser, origin, phone=True) as lin,
          person(browser, origin, phone=True) as chen):
        secretary = zhang.page
        sign_in(zhang, "M001")
        zhang.go("/member/projects/new")
        secretary.get_by_label("项目名称").fill(title)
        secretary.get_by_label("服务内容").fill("逐户讲解垃圾分类投放，发放宣传册")
        secretary.get_by_label("服务地点").fill("南后街沿街住户")
        secretary.get_by_label("开始时间").fill(start.strftime("%Y-%m-%dT%H:%M"))
        secretary.get_by_label("结束时间").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
        secretary.get_by_label("报名截止（可选）").fill(cutoff.strftime("%Y-%m-%dT%H:%M"))
        secretary.get_by_label("名额", exact=True).fill("2")
        secretary.get_by_label("每人积分（可选）").fill(str(points))
        secretary.get_by_label("环境卫生").check()
        looked_at(zhang, "project-publish")
        secretary.get_by_role("button", name="发布", exact=True).click()
        expect(secretary.get_by_role("heading", level=1)).to_have_text("项目已发布")
        project_no = secretary.locator("li.card h2 .muted").inner_text()
        assert re.fullmatch(r"XM\d{8}-\d{3}", project_no), project_no
        looked_at(zhang)

        for claimer, user_id, filled in ((lin, "M002", 1), (chen, "M003", 2)):
            page = claimer.page
            sign_in(claimer, user_id)
            page.get_by_role("navigation", name="主导航").get_by_role("link", name="服务大厅").click()
            card = project_card(page, title)
            expect(card).to_contain_text(f"名额 {filled - 1}/2 · {points} 积分")
            card.get_by_role("button", name="认领").click()
            expect(notice(page)).to_have_text("已认领，请按时参加。")
            expect(fact(page, "名额")).to_have_text(f"{filled}/2")
            looked_at(claimer)

        secretary.get_by_role("link", name="返回项目列表").click()
        full = project_card(secretary, title)
        expect(full).to_contain_text("名额 2/2")
        expect(full.locator(".tag")).to_contain_text(["名额已满"])
        expect(full.get_by_role("button", name="认领")).to_have_count(0)
        looked_at(zhang, "project-hall")

        page = chen.page
        page.get_by_role("button", name="退出项目", exact=True).click()
        expect(notice(page)).to_have_text("已退出该项目。")
        expect(fact(page, "我的报名").locator(".tag")).to_have_text(["已退出"])
        expect(fact(page, "名额")).to_have_text("1/2")
        page.get_by_role("link", name="返回服务大厅").click()
        expect(project_card(page, title)).to_contain_text("名额 1/2")
        expect(project_card(page, title).get_by_role("button", name="认领")).to_be_visible()
        looked_at(chen)
        secretary.reload()
        expect(full).to_contain_text("名额 1/2")
        expect(full.get_by_role("button", name="认领")).to_be_visible()
        looked_at(zhang)

        page = lin.page
        page.get_by_role("button", name="签到").click()
        expect(notice(page)).to_have_text("已签到。")
        page.get_by_role("button", name="签退").click()
        expect(notice(page)).to_have_text("已签退，请提交服务报告。")
        looked_at(lin)
        page.get_by_role("button", name="提交报告").click()
        # The browser holds the form back: a report needs its note.
        assert page.get_by_label("服务报告").evaluate("note => note.validity.valueMissing")
        expect(notice(page)).to_have_text("已签退，请提交服务报告。")
        page.get_by_label("服务报告").fill(report)
        page.get_by_role("button", name="提交报告").click()
        expect(notice(page)).to_have_text("报告已提交，等待支部书记确认。")
        expect(fact(page, "我的报名")).to_have_text("已提交报告")
        expect(fact(page, "我的报告")).to_have_text(report)
        expect(fact(page, "名额")).to_have_text("1/2")
        looked_at(lin, "project-page")

        full.get_by_role("link", name=title).click()
        expect(fact(secretary, "名额")).to_have_text("1/2")
        expect(secretary.get_by_role("heading", name="报名记录（2）")).to_be_visible()
        withdrawn = secretary.locator("li.card", has_text="陈志强")
        expect(withdrawn.locator(".tag")).to_have_text(["已退出"])
        expect(withdrawn.get_by_role("button", name="确认完成")).to_have_count(0)
        reported = secretary.locator("li.card", has_text="林秀英")
        expect(reported).to_contain_text(f"报告：{report}")
        looked_at(zhang, "project-confirm")
        reported.get_by_role("button", name="确认完成").click()
        expect(notice(secretary)).to_have_text("已确认完成，积分将计入该党员名下。")
        expect(reported.locator(".tag")).to_have_text(["已确认完成"])
        expect(secretary.get_by_role("button", name="确认完成")).to_have_count(0)
        looked_at(zhang)

        page = lin.page
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的积分").click()
        entry = page.locator("tbody tr", has_text=project_no)
        reload_until_visible(page, entry)
        expect(entry.locator("td")).to_have_text([re.compile(r"\S"), f"{title}{project_no}", "完成志愿服务",
                                                  f"+{points}"])
        expect(page.locator(".card", has_text="累计积分").locator(".big")).to_have_text(str(points))
        looked_at(lin, "points")

        page.get_by_role("link", name="查看排行榜").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("排行榜 · 三坊七巷社区党支部")
        periods = page.get_by_role("navigation", name="统计周期")
        for period in ("本月", "累计"):
            # The board opens on 本月; the other periods are links.
            if period != "本月":
                periods.get_by_role("link", name=period).click()
            expect(periods.locator("[aria-current=page]")).to_have_text(period)
            first = page.locator("tbody tr").first
            expect(first.locator("td")).to_have_text(["1", "林秀英", "三坊七巷社区党支部", str(points)])
            expect(first).to_have_class("mine")
            expect(page.locator("tbody tr", has_text="陈志强").locator("td").last).to_have_text("0")
        looked_at(lin, "leaderboard")

        page = chen.page
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的积分").click()
        expect(page.locator(".card", has_text="累计积分").locator(".big")).to_have_text("0")
        expect(page.locator("main")).to_contain_text("还没有积分")
        expect(page.locator("tbody tr")).to_have_count(0)
        looked_at(chen)
