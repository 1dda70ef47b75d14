"""A small town's worth of activity for `appeal dev --simulate RATE`.

Reports arrive through both doors (the inbound Kafka topics as the hotline platform
and grid app would push them, and the HTTP form as an operator would fill it); simulated
members work their branch boards over the public HTTP API; citizens rate resolved cases;
branch secretaries publish volunteer projects that members claim and do
(``simulated_volunteers``).
"""

import asyncio
import json
import random
from dataclasses import dataclass, field

import httpx
import structlog
from aiokafka import AIOKafkaProducer
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from services.simulated_volunteers import Volunteers
from shared import topics
from shared.district import Community, District, Person
from shared.events import Source

log = structlog.get_logger()

TEMPLATES: dict[str, list[str]] = {
    "noise": ["{place}附近工地夜间施工，噪音吵得睡不着", "{place}楼上装修电钻声不断，严重扰民", "{place}广场舞音响太吵，晚上十点还没停"],
    "water": ["{place}小区从早上开始停水，没有任何通知", "{place}楼道水管漏水，墙面都泡坏了", "{place}自来水发黄，水质有问题"],
    "drainage": ["{place}下水道堵塞，污水冒到路面", "{place}一下雨就积水，排水沟堵了", "{place}化粪池满溢，臭味很重"],
    "road": ["{place}路灯坏了好几天，晚上很黑", "{place}井盖松动，电动车经过很危险", "{place}人行道砖破损，老人容易绊倒"],
    "sanitation": ["{place}垃圾桶满了没人清运，异味很大", "{place}楼道脏乱，老鼠很多", "{place}垃圾清运车每天清晨作业太早"],
    "greening": ["{place}枯树枝快掉下来了，请尽快修剪", "{place}绿地被人占用种菜", "{place}树木遮挡路灯，需要修剪"],
    "parking": ["{place}电动车乱停占道，消防车进不来", "{place}僵尸车停了半年没人管", "{place}小区门口乱停车，出入困难"],
    "property": ["{place}电梯又坏了，老人上下楼困难", "{place}物业不作为，门禁坏了一个月", "{place}物业公共维修资金使用不公开"],
    "safety": ["{place}闻到燃气味道，疑似燃气泄漏", "{place}楼道有人飞线充电，很危险", "{place}消防通道被杂物堵死"],
    "elderly": ["{place}独居老人好几天没出门，请社区上门看看", "{place}老人助餐点什么时候开放", "{place}高龄补贴一直没有到账"],
    "market": ["{place}菜市场摊贩缺斤短两", "{place}小店卖过期食品", "{place}店铺无证经营，价格乱收费"],
    "other": ["{place}有流浪狗聚集，担心伤人", "{place}咨询居住证办理流程"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
NOTES = ["已电话联系诉求人，约好上门时间", "已到现场查看，协调相关单位处理", "已与物业沟通，明日安排维修"]
RESOLUTIONS = ["问题已处理完毕，诉求人确认", "已协调施工方调整作业时间", "已完成维修，现场恢复正常"]
RETURN_REASONS = ["不属于本社区辖区，请重新派单", "涉及区级职能部门，本支部无法处理"]


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def with_callback_number(text: str, rng: random.Random) -> str:
    """People type phone numbers into free text, spaced and dashed every which way; a
    third of simulated texts carry one, so the masking is exercised on every path."""
    if rng.random() >= 1 / 3:
        return text
    digits = mobile(rng)
    written = rng.choice([digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}"])
    return f"{text}，回电{written}"


def compose_report(district: District, rng: random.Random, serial: int,
                   source: Source | None = None) -> tuple[str, dict]:
    """A realistic report and the inbound topic it would arrive on; from either door at
    random unless ``source`` says which."""
    street = rng.choice(district.streets)
    community = rng.choice(street.communities)
    category = rng.choice(district.categories)
    templates = TEMPLATES.get(category.code) or [f"{{place}}{(category.keywords or [category.name])[0]}问题"]
    place = rng.choice([*community.aliases, community.name])
    report = {
        "description": with_callback_number(rng.choice(templates).format(place=place), rng),
        "citizen_name": f"{rng.choice(SURNAMES)}{rng.choice(['先生', '女士'])}",
        "citizen_phone": mobile(rng),
    }
    if source is None:
        source = "hotline" if rng.random() < 0.5 else "grid"
    if source == "hotline":
        address = with_callback_number(f"{place}{rng.randint(1, 120)}号", rng)
        return topics.INBOUND_HOTLINE, {"source": "hotline", "external_id": f"RX{serial:08d}", "address": address,
                                        **report}
    grid = rng.choice(community.grids) if community.grids else None
    return topics.INBOUND_GRID, {"source": "grid", "external_id": f"GRID{serial:08d}", "grid_code": grid, **report}


@dataclass(frozen=True)
class PeoplesLogins:
    """The sample logins `appeal dev` offers people to try. The simulator never signs in
    as them and leaves the offered member's branch alone, so nobody trying the pages
    loses a claim to it."""

    operator: Person | None
    member: Person | None
    member_branch: str | None
    supervisor: Person | None

    @classmethod
    def of(cls, district: District) -> "PeoplesLogins":
        community = next((c for c in district.communities if c.members), None)
        supervisor = next((p for s in district.streets for p in s.supervisors), None)
        return cls(operator=district.operators[0] if district.operators else None,
                   member=community.members[0] if community else None,
                   member_branch=community.branch.code if community else None, supervisor=supervisor)

    def simulated_operator(self, district: District) -> Person | None:
        others = [o for o in district.operators if self.operator is None or o.id != self.operator.id]
        return others[-1] if others else None

    def simulated_branches(self, district: District) -> list[Community]:
        return [c for c in district.communities if c.members and c.branch.code != self.member_branch]


@dataclass
class Simulator:
    base_url: str
    bootstrap: str
    district: District
    rate: float
    rng: random.Random = field(default_factory=random.Random)
    password: str = "demo"
    _ratings: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            log.exception("simulator_stopped")
            raise

    async def _run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
                people = PeoplesLogins.of(self.district)
                simulated_operator = people.simulated_operator(self.district)
                operator = await self._login(http, simulated_operator.id) if simulated_operator else None
                branches = people.simulated_branches(self.district)
                volunteers = Volunteers(http, self.district, self.rng, self._login)
                try:
                    await asyncio.gather(self._report(producer, http, operator), volunteers.run(branches),
                                         *(self._work_branch(http, c, operator) for c in branches))
                finally:
                    for task in self._ratings:
                        task.cancel()
                    await asyncio.gather(*self._ratings, return_exceptions=True)
        finally:
            await producer.stop()

    async def _login(self, http: httpx.AsyncClient, user_id: str) -> dict[str, str]:
        """Signed in, after waiting out a busy moment (503) for up to a minute."""
        async for attempt in AsyncRetrying(stop=stop_after_delay(60), wait=wait_fixed(1),
                                           retry=retry_if_exception_type(httpx.HTTPError), reraise=True):
            with attempt:
                response = await http.post("/api/auth/login", json={"user_id": user_id, "password": self.password})
                response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def _report(self, producer: AIOKafkaProducer, http: httpx.AsyncClient, operator: dict | None) -> None:
        serial = self.rng.randrange(10**6) * 100
        while True:
            serial += 1
            topic, report = compose_report(self.district, self.rng, serial)
            try:
                if operator is not None and topic == topics.INBOUND_HOTLINE and self.rng.random() < 0.3:
                    report.pop("external_id")
                    (await http.post("/api/cases", json=report, headers=operator)).raise_for_status()
                else:
                    await producer.send_and_wait(topic, json.dumps(report, ensure_ascii=False).encode(),
                                                 key=report["external_id"].encode())
            except (httpx.HTTPError, OSError) as error:
                log.warning("simulated_report_failed", error=str(error))
            await asyncio.sleep(self.rng.expovariate(self.rate))

    async def _work_branch(self, http: httpx.AsyncClient, community: Community, operator: dict | None) -> None:
        members = {m.id: await self._login(http, m.id) for m in community.members}
        branch = community.branch.code
        while True:
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))
            try:
                await self._tick(http, branch, members, operator)
            except (httpx.HTTPError, OSError) as error:
                log.warning("simulated_member_failed", branch=branch, error=str(error))

    async def _tick(self, http: httpx.AsyncClient, branch: str, members: dict, operator: dict | None) -> None:
        any_member = next(iter(members.values()))
        response = await http.get(f"/api/branches/{branch}/tasks", headers=any_member)
        if response.status_code != 200:  # busy (503, 429): the next tick tries again
            log.warning("simulated_board_unavailable", branch=branch, status=response.status_code)
            return
        for task in response.json():
            if task.get("member_id") not in (None, *members):
                continue
            case_id = task["case_id"]
            if task["status"] == "open" and self.rng.random() < 0.5:
                who = members[self.rng.choice(list(members))]
                if self.rng.random() < 0.05:
                    await http.post(f"/api/tasks/{case_id}/return", json={"reason": self.rng.choice(RETURN_REASONS)},
                                    headers=who)
                else:
                    await http.post(f"/api/tasks/{case_id}/claim", headers=who)
            elif task["status"] == "claimed" and self.rng.random() < 0.5:
                await http.post(f"/api/tasks/{case_id}/respond",
                                json={"note": with_callback_number(self.rng.choice(NOTES), self.rng)},
                                headers=members[task["member_id"]])
            elif task["status"] == "responded" and self.rng.random() < 0.4:
                holder = members[task["member_id"]]
                await http.post(f"/api/tasks/{case_id}/resolve",
                                json={"note": with_callback_number(self.rng.choice(RESOLUTIONS), self.rng)},
                                headers=holder)
                rating = asyncio.create_task(self._rate_later(http, case_id, holder, operator))
                self._ratings.add(rating)
                rating.add_done_callback(self._ratings.discard)

    async def _rate_later(self, http: httpx.AsyncClient, case_id: str, member: dict, operator: dict | None) -> None:
        """The citizen rates a little later; the member evaluates the case too (双向评单)."""
        await asyncio.sleep(self.rng.uniform(2.0, 5.0))
        if operator is None:
            return
        try:
            code = (await http.get(f"/api/cases/{case_id}", headers=operator)).json().get("tracking_code")
            satisfied = self.rng.random() < 0.85
            await http.post(f"/api/cases/{case_id}/feedback", json={
                "tracking_code": code, "rating": self.rng.randint(4, 5) if satisfied else self.rng.randint(1, 2),
                "resolved": satisfied or self.rng.random() < 0.5,
                "comment": "处理及时，态度很好" if satisfied else "问题还没解决"})
            await http.post(f"/api/cases/{case_id}/evaluation", json={"rating": self.rng.randint(3, 5)},
                            headers=member)
        except (httpx.HTTPError, OSError) as error:
            log.warning("simulated_rating_failed", case_id=case_id, error=str(error))
