"""The points pages, driven as a browser would without JavaScript, on SQLite and PostgreSQL:
我的积分 in words, 排行榜 by role and period, and the residents' evaluation form that keeps
what was typed when something is wrong."""

import re

import pytest

from tests.component.conftest import api_client
from tests.component.test_pages import Browser, alerts, notice
from tests.component.test_points_ledger import Feedback
from tests.unit.project_factories import EVALUATION_CODE, make_confirmed, make_published


@pytest.fixture
async def feedback(tmp_path, database_url, clock):
    async with api_client(tmp_path, database_url, names=["feedback"], clock=clock) as api:
        points = Feedback(api)
        await points.deliver(make_published(), make_confirmed("M002", points=8), make_confirmed("M005", "B0102"))
        yield points


async def browser(feedback: Feedback, user_id: str | None) -> Browser:
    signed = Browser(feedback.api)  # type: ignore[arg-type]  # it needs only .system
    if user_id:
        assert (await signed.sign_in(user_id)).status_code == 303
    return signed


def cells(page, row: str) -> list[str]:
    found = re.search(rf"<tr[^>]*>((?:(?!</tr>).)*{row}(?:(?!</tr>).)*)</tr>", page.text, re.S)
    assert found, row
    return [re.sub(r"<[^>]+>", " ", cell).split()[0] for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1),
                                                                             re.S)]


async def test_a_member_sees_their_points_with_reasons_in_words(feedback):
    await feedback.evaluate(5)
    member = await browser(feedback, "M002")
    page = await member.http.get("/points")
    assert page.status_code == 200
    assert re.findall(r'class="big">(\d+)<', page.text) == ["13", "13"]
    assert "完成志愿服务" in page.text and "群众好评加分" in page.text and "XM20261121-001" in page.text
    assert '<a href="/points">我的积分</a><a href="/points/leaderboard">排行榜</a>' in page.text


async def test_the_leaderboard_defaults_to_the_members_branch_and_the_supervisors_street(feedback):
    member = await browser(feedback, "M002")
    page = await member.http.get("/points/leaderboard")
    assert page.status_code == 200 and "三坊七巷社区党支部" in page.text and "支部比学赶超" not in page.text
    assert cells(page, "林秀英") == ["1", "林秀英", "三坊七巷社区党支部", "8"]
    supervisor = await browser(feedback, "U900")
    street = await supervisor.http.get("/points/leaderboard?period=year")
    assert "支部比学赶超" in street.text and '<strong aria-current="page">本年</strong>' in street.text
    assert cells(street, "虎节社区党支部") == ["1", "虎节社区党支部", "10"]
    assert '<a href="/points/leaderboard">排行榜</a>' in street.text
    refused = await member.http.get("/points/leaderboard?unit=S02")
    assert refused.status_code == 403 and "只能查看本街道的排行榜" in refused.text


async def test_only_members_open_my_points_and_operators_no_board(feedback):
    supervisor, operator, nobody = [await browser(feedback, who) for who in ("U900", "U100", None)]
    assert (await supervisor.http.get("/points")).status_code == 403
    assert (await operator.http.get("/points/leaderboard")).status_code == 403
    assert (await nobody.http.get("/points")).status_code == 303


async def test_a_resident_evaluates_and_is_told_in_words_what_to_fix_keeping_what_was_typed(feedback):
    resident = await browser(feedback, None)
    form = await resident.http.get("/projects/evaluate")
    assert form.status_code == 200 and 'name="evaluation_code"' in form.text
    blank = await resident.post("/projects/evaluate", {"project_no": "", "evaluation_code": "", "rating": "",
                                                       "comment": "志愿者很耐心"}, token_from="/projects/evaluate")
    assert blank.status_code == 422
    assert {"请填写项目编号"} <= set(alerts(blank)) and len(alerts(blank)) >= 3, alerts(blank)
    assert "志愿者很耐心" in blank.text
    typed = {"project_no": "XM20261121-001", "evaluation_code": "WRONG1", "rating": "5", "comment": "志愿者很耐心"}
    wrong = await resident.post("/projects/evaluate", typed, token_from="/projects/evaluate")
    assert wrong.status_code == 403 and "评价码不对" in wrong.text and "志愿者很耐心" in wrong.text
    assert 'value="XM20261121-001"' in wrong.text
    unknown = await resident.post("/projects/evaluate", {**typed, "project_no": "XM19990101-001"},
                                  token_from="/projects/evaluate")
    assert unknown.status_code == 404 and "没有这个项目" in unknown.text
    done = await resident.post("/projects/evaluate", {**typed, "evaluation_code": EVALUATION_CODE.lower()},
                               token_from="/projects/evaluate")
    assert done.status_code == 200 and "感谢您的评价" in notice(done)
    assert (await feedback.points_of("M002"))["balance"] == 8 + 5


async def test_the_evaluation_form_without_this_browsers_token_is_refused(feedback):
    resident = await browser(feedback, None)
    refused = await resident.http.post("/projects/evaluate", data={"project_no": "XM20261121-001",
                                                                   "evaluation_code": EVALUATION_CODE, "rating": "5"})
    assert refused.status_code == 403 and "页面已过期" in refused.text
    assert (await feedback.points_of("M002"))["balance"] == 8


async def test_the_command_center_picks_any_street(feedback):
    center = await browser(feedback, "U800")
    page = await center.http.get("/points/leaderboard?unit=S02&period=week")
    assert page.status_code == 200 and "支部比学赶超" in page.text
    assert 'href="/points/leaderboard?unit=S01&amp;period=week"' in page.text
