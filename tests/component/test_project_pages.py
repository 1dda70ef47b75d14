"""The volunteer projects' pages, driven as a browser would without JavaScript, on SQLite and
PostgreSQL: a secretary publishes (told what to fix, nothing lost), members find the project
in the hall (their skills first), claim, lose a full one in words, check in and out and
report; the supervisor links appeals of the street to a project and confirms completions."""

import re

import pytest

from shared.clock import FakeClock
from tests.component.inmemory import cases_at, wired_system
from tests.component.test_pages import alerts, browser_as, notice
from tests.unit.factories import T0

LOCAL_START = "2026-11-21T20:00"  # 12:00 UTC, three hours after T0
FORM = {"title": "独居老人上门探访", "description": "陪伴聊天，检查燃气、用电安全", "place": "三坊七巷社区服务站",
        "starts_at": LOCAL_START, "ends_at": "2026-11-21T22:00", "claim_cutoff": "2026-11-21T19:00",
        "slots": "1", "points": "", "repeat_weeks": "1", "skills": "elderly"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def project_link(page_text: str) -> str:
    found = re.search(r'href="/member/projects/([0-9a-f-]{36})"', page_text)
    assert found, "no project on the page"
    return found.group(1)


async def test_a_secretary_publishes_members_claim_report_and_the_supervisor_confirms(tmp_path, database_url, clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        async with browser_as(wired, "M001") as secretary:
            assert '<a href="/member/projects">服务大厅</a>' in (await secretary.http.get("/member")).text
            wrong = await secretary.post("/member/projects/new", {**FORM, "ends_at": "2026-11-21T19:30"},
                                         token_from="/member/projects/new")
            assert wrong.status_code == 422 and "结束时间须晚于开始时间，活动最长7天" in alerts(wrong)
            assert 'value="独居老人上门探访"' in wrong.text and "陪伴聊天" in wrong.text, "nothing typed is lost"
            published = await secretary.post("/member/projects/new", FORM, token_from="/member/projects/new")
            assert published.status_code == 200 and "评价码只显示这一次" in published.text
            assert re.search(r'<strong class="big">[2-9A-Z]{10}</strong>', published.text)
        async with browser_as(wired, "M004") as huang, browser_as(wired, "M002") as lin, \
                browser_as(wired, "M006") as wang:
            hall = await huang.http.get("/member/projects")
            assert "符合我的技能" in hall.text and "认领</button>" in hall.text
            assert "符合我的技能" not in (await lin.http.get("/member/projects")).text
            project_id = project_link(hall.text)
            claimed = await huang.post(f"/member/projects/{project_id}/claim", {}, token_from="/member/projects")
            assert claimed.status_code == 303
            assert notice(await huang.http.get(claimed.headers["location"])) == "已认领，请按时参加。"
            full = await wang.post(f"/member/projects/{project_id}/claim", {}, token_from="/member/projects")
            assert full.status_code == 409 and alerts(full) == ["名额已满，下次早点报名。"]
            withdrawn = await huang.post(f"/member/projects/{project_id}/withdraw", {},
                                         token_from=f"/member/projects/{project_id}")
            assert withdrawn.status_code == 303
            assert (await wang.post(f"/member/projects/{project_id}/claim", {},
                                    token_from="/member/projects")).status_code == 303
            early = await wang.post(f"/member/projects/{project_id}/check_in", {},
                                    token_from=f"/member/projects/{project_id}")
            assert early.status_code == 409 and alerts(early) == ["签到时间为开始前1小时至结束。"]
            clock.advance(hours=2, minutes=30)
            for step in ("check_in", "check_out"):
                done = await wang.post(f"/member/projects/{project_id}/{step}", {},
                                       token_from=f"/member/projects/{project_id}")
                assert done.status_code == 303, (step, done.text)
            empty = await wang.post(f"/member/projects/{project_id}/report", {"note": " "},
                                    token_from=f"/member/projects/{project_id}")
            assert empty.status_code == 422 and "请填写服务报告" in alerts(empty)
            reported = await wang.post(f"/member/projects/{project_id}/report", {"note": "陪李奶奶聊天一小时"},
                                       token_from=f"/member/projects/{project_id}")
            assert notice(await wang.http.get(reported.headers["location"])) == "报告已提交，等待支部书记确认。"
            assert project_id in (await wang.http.get("/member/projects/mine")).text
        async with browser_as(wired, "U900") as supervisor:
            overview = await supervisor.http.get("/supervisor/projects")
            assert '<a href="/supervisor/projects">志愿项目</a>' in overview.text
            assert "王美玲" in overview.text and "陪李奶奶聊天一小时" in overview.text
            assert "确认完成</button>" in overview.text
            confirmed = await supervisor.post(f"/supervisor/projects/{project_id}/members/M006/confirm",
                                              {"street": "S01"}, token_from="/supervisor/projects")
            assert confirmed.status_code == 303
            after = await supervisor.http.get(confirmed.headers["location"])
            assert notice(after) == "已确认完成，积分将计入该党员名下。" and "已确认完成 1" in after.text
            again = await supervisor.post(f"/supervisor/projects/{project_id}/members/M006/confirm",
                                          {"street": "S01"}, token_from="/supervisor/projects")
            assert again.status_code == 409 and alerts(again) == ["该党员的完成情况已经确认过了。"]


async def test_only_secretaries_publish_from_the_member_pages_and_other_streets_see_nothing(tmp_path, database_url,
                                                                                          clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        async with browser_as(wired, "M002") as member:
            refused = await member.http.get("/member/projects/new")
            assert refused.status_code == 403 and "支部书记" in refused.text
        async with browser_as(wired, "M001") as secretary:
            published = await secretary.post("/member/projects/new", FORM, token_from="/member/projects/new")
            assert published.status_code == 200
            project_id = project_link((await secretary.http.get("/member/projects")).text)
        async with browser_as(wired, "M013") as far:
            assert project_id not in (await far.http.get("/member/projects")).text
            assert (await far.http.get(f"/member/projects/{project_id}")).status_code == 404


async def test_the_supervisor_turns_appeals_of_the_street_into_a_project(tmp_path, database_url, clock):
    async with wired_system(tmp_path, database_url, clock=clock) as wired:
        case_id, _code = (await cases_at(wired, {"noise": "dispatched"}))["noise"]
        async with browser_as(wired, "U900") as supervisor:
            form = await supervisor.http.get("/supervisor/projects/new")
            assert f'value="{case_id}"' in form.text and "噪音扰民" in form.text
            published = await supervisor.post("/supervisor/projects/new",
                                              {**FORM, "case_ids": case_id, "branch_code": "", "slots": "0"},
                                              token_from="/supervisor/projects/new")
            assert published.status_code == 422 and "名额超出范围" in alerts(published)
            assert re.search(rf'value="{case_id}" checked', published.text), "the linked appeal stays ticked"
            published = await supervisor.post("/supervisor/projects/new", {**FORM, "case_ids": case_id},
                                              token_from="/supervisor/projects/new")
            assert published.status_code == 200, published.text
            overview = await supervisor.http.get("/supervisor/projects")
            assert "关联诉求 1 件" in overview.text and "街道项目" in overview.text
