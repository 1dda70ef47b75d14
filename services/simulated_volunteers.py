"""Volunteer projects for `appeal dev --simulate`: each simulated branch's secretary
publishes one from the needs list (需求清单) now and then; members of the street claim
those that match their skills (a few withdraw), check in and out, and report; the
secretary confirms; a resident served and the members evaluate it. Everything over the
public HTTP API, as people would."""

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import structlog

from shared.district import Community, District

log = structlog.get_logger()

NEEDS: list[tuple[str, str, str]] = [
    ("独居老人上门探访", "elderly", "陪老人聊聊天，查看家中水电燃气是否安全"),
    ("楼道环境清洁", "sanitation", "清理楼道杂物和小广告，整理公共区域"),
    ("小区绿地补植", "greening", "补种绿篱，修剪遮挡路灯的树枝"),
    ("垃圾分类政策宣讲", "sanitation", "入户讲解垃圾分类新规，发放宣传单"),
    ("电动车规范停放劝导", "parking", "在小区门口劝导电动车规范停放"),
    ("消防安全隐患排查", "safety", "检查楼道消防通道和飞线充电"),
    ("雨季排水沟清淤", "drainage", "清理排水沟淤泥，疏通雨水口"),
    ("夜间路灯巡查", "road", "巡查辖区路灯和井盖，登记损坏情况"),
    ("老旧小区水表读数协助", "water", "协助独居老人读水表，查看是否漏水"),
]
REPORTS = ["已按时到场完成服务，居民很满意", "服务完成，已登记需要后续跟进的问题", "与居民一起完成了清理"]

Login = Callable[[httpx.AsyncClient, str], Awaitable[dict[str, str]]]


@dataclass
class Volunteers:
    http: httpx.AsyncClient
    district: District
    rng: random.Random
    login: Login
    every_seconds: float = 120.0
    """How often, on average, each simulated branch publishes a project."""

    async def run(self, branches: list[Community]) -> None:
        await asyncio.gather(*(self._branch(community) for community in branches if self._secretary(community)))

    def _secretary(self, community: Community) -> str | None:
        return next((m.id for m in community.members if m.secretary), None)

    async def _branch(self, community: Community) -> None:
        secretary = self._secretary(community)
        assert secretary is not None
        await asyncio.sleep(self.rng.uniform(5.0, self.every_seconds / 2))
        while True:
            try:
                await self._one_project(community, secretary)
            except (httpx.HTTPError, OSError, KeyError, ValueError) as error:
                log.warning("simulated_project_failed", branch=community.branch.code, error=str(error))
            await asyncio.sleep(self.rng.expovariate(1 / self.every_seconds))

    async def _one_project(self, community: Community, secretary_id: str) -> None:
        title, skill, description = self.rng.choice(NEEDS)
        now = datetime.now(UTC)
        slots = self.rng.randint(2, 3)
        secretary = await self.login(self.http, secretary_id)
        response = await self.http.post("/api/projects", headers=secretary, json={
            "title": title, "description": description, "skills": [skill],
            "place": f"{self.rng.choice([*community.aliases, community.name])}社区服务站",
            "starts_at": (now + timedelta(minutes=2)).isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat(),
            "claim_cutoff": (now + timedelta(seconds=60)).isoformat(), "slots": slots})
        response.raise_for_status()
        project = response.json()[0]
        project_id, code = project["project_id"], project["evaluation_code"]
        volunteers = [m.id for m in community.members if m.id != secretary_id]
        self.rng.shuffle(volunteers)
        claimed = []
        for member_id in volunteers[:slots + 1]:
            member = await self.login(self.http, member_id)
            if (await self.http.post(f"/api/projects/{project_id}/claim", headers=member)).status_code == 200:
                claimed.append((member_id, member))
            await asyncio.sleep(self.rng.uniform(0.5, 2.0))
        if claimed and self.rng.random() < 0.2:
            _, quitter = claimed.pop()
            await self.http.post(f"/api/projects/{project_id}/withdraw", headers=quitter)
        for step in ("check-in", "check-out"):
            await asyncio.sleep(self.rng.uniform(2.0, 5.0))
            for _, member in claimed:
                await self.http.post(f"/api/projects/{project_id}/{step}", headers=member)
        for member_id, member in claimed:
            await self.http.post(f"/api/projects/{project_id}/report", json={"note": self.rng.choice(REPORTS)},
                                 headers=member)
            await self.http.post(f"/api/projects/{project_id}/members/{member_id}/confirm", headers=secretary)
        await asyncio.sleep(self.rng.uniform(2.0, 5.0))
        await self.http.post(f"/api/projects/{project_id}/evaluation", json={
            "evaluation_code": code, "rating": self.rng.choice([3, 4, 5, 5]), "comment": "党员志愿者很热心"})
        for _, member in claimed:
            await self.http.post(f"/api/projects/{project_id}/member-evaluation",
                                 json={"rating": self.rng.randint(4, 5)}, headers=member)
