"""The whole system's HTTP app with its services wired together in memory: each service's
broker is FastStream's test broker, and ``deliver`` plays the outbox relays, handing every
committed event to every service that subscribes to its topic, until nothing is left."""

from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from faststream.kafka import TestKafkaBroker
from sqlalchemy import delete, select

from services.system import System
from shared.outbox import OutboxMessage
from tests.component.conftest import ApiClient, api_client


@dataclass
class Wired:
    api: ApiClient
    brokers: list[Any]

    @property
    def system(self) -> System:
        return self.api.system

    async def deliver(self, rounds: int = 20) -> int:
        """Relay every service's outbox to every subscriber, again until no event is left; how many were relayed."""
        relayed = 0
        for _ in range(rounds):
            rows = await self._take_outboxes()
            if not rows:
                return relayed
            for row in rows:
                headers = {"event_id": row.event_id, "case_id": row.key, "correlation_id": row.correlation_id,
                           "event_type": row.event_type, "content-type": "application/json"}
                for broker in self.brokers:
                    await broker.publish(row.payload.encode(), row.topic, key=row.key.encode(), headers=headers)
            relayed += len(rows)
        raise AssertionError(f"events still flowing after {rounds} rounds")

    def dead_letters(self) -> float:
        """How many messages the services parked on the dead-letter topic so far."""
        return sum(sample.value for metric in self.system.context.registry.collect()
                   for sample in metric.samples if sample.name == "appeal_dead_letters_total")

    async def _take_outboxes(self) -> list[OutboxMessage]:
        taken: list[OutboxMessage] = []
        for service in self.system.services:
            async with service.db.session() as session, session.begin():
                rows = list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
                if rows:
                    await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows])))
                session.expunge_all()
            taken.extend(rows)
        return taken


STAGES = {"registered": (), "dispatched": (), "claimed": ("claim",), "suspended": ("claim", "suspend"),
          "resolved": ("claim", "respond", "resolve")}
"""How far a sample case has come, as the moves 张伟 (M001) made on it after its dispatch to B0101."""
MOVE_BODIES = {"respond": {"note": "已电话联系王女士"}, "resolve": {"note": "已协调施工方停工"},
               "suspend": {"reason": "电话无人接听", "limit": "2h"}}
NOISE_REPORT = {"source": "hotline", "description": "南后街12号楼下装修噪音很大", "citizen_name": "王女士",
                "citizen_phone": "13800000001", "address": "南后街12号"}


async def cases_at(wired: Wired, stages: dict[str, str]) -> dict[str, tuple[str, str]]:
    """One noise case at 南后街 (dispatched to B0101) for each name, brought to its stage;
    name → (case id, tracking code)."""
    api = wired.api
    operator, member = await api.login("U100"), await api.login("M001")
    cases = {}
    for name in stages:
        created = await api.http.post("/api/cases", json=NOISE_REPORT, headers=operator)
        assert created.status_code == 201, created.text
        cases[name] = created.json()["case_id"], created.json()["tracking_code"]
    await wired.deliver()
    for name, stage in stages.items():
        for move in STAGES[stage]:
            done = await api.http.post(f"/api/tasks/{cases[name][0]}/{move}", json=MOVE_BODIES.get(move),
                                       headers=member)
            assert done.status_code == 200, done.text
    await wired.deliver()
    return cases


@asynccontextmanager
async def wired_system(tmp_path, database_url: str, **build: Any):
    async with api_client(tmp_path, database_url, **build) as api, AsyncExitStack() as stack:
        brokers = [await stack.enter_async_context(TestKafkaBroker(s.broker)) for s in api.system.services]
        yield Wired(api, brokers)
