"""The feedback service's points ledger, with its real composition root, on SQLite and
PostgreSQL: project events fed to its batch consumer as Kafka would hand them over
(again, twice in one batch, beside a poison record, out of order), and the residents'
and members' evaluations through its HTTP API. Each entry is written once, whatever
the delivery; the bonus once, whatever the order; a balance is the sum of its entries."""

import random
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import select

from services.feedback.ledger import PointsEntry
from shared.events import Message
from tests.component.conftest import api_client
from tests.component.test_batches import ParkedLetters, Record
from tests.unit.factories import T0
from tests.unit.project_factories import (
    EVALUATION_CODE,
    PROJECT_ID,
    make_confirmed,
    make_published,
    make_withdrawn,
)

BONUS, LATE = 5, -2
"""The sample district's good-evaluation bonus and late-withdrawal penalty."""


class Feedback:
    """The feedback service alone: its HTTP API, and its project consumer driven directly."""

    def __init__(self, api) -> None:
        self.api = api
        self.service = api.system.services[0]
        self.letters = ParkedLetters()
        self.batch = replace(self.service.consumers.batches["feedback.projects"], dead_letters=self.letters)
        self.offset = 0

    async def deliver(self, *events: Message | bytes) -> None:
        """One batch, as the broker hands it over."""
        records = []
        for event in events:
            self.offset += 1
            value = event if isinstance(event, bytes) else event.model_dump_json().encode()
            records.append(Record(value, topic="appeal.project.events", offset=self.offset))
        await self.batch.consume(records)

    async def entries(self) -> list[tuple[str, str, str, int]]:
        async with self.service.db.session() as session:
            rows = (await session.execute(select(PointsEntry).order_by(PointsEntry.id))).scalars()
            return sorted((e.member_id, e.project_id, e.reason, e.points) for e in rows)

    async def points_of(self, member_id: str, period: str = "all") -> dict:
        supervisor = await self.api.login("U900")
        response = await self.api.http.get(f"/api/points/members/{member_id}", params={"period": period},
                                           headers=supervisor)
        assert response.status_code == 200, response.text
        return response.json()

    async def evaluate(self, rating: int, code: str = EVALUATION_CODE, project_id: uuid.UUID = PROJECT_ID):
        return await self.api.http.post(f"/api/projects/{project_id}/evaluation",
                                        json={"evaluation_code": code, "rating": rating, "comment": "很耐心"})

    def credited(self, branch: str, reason: str) -> float | None:
        return self.api.system.context.registry.get_sample_value(
            "appeal_points_credited_total", {"branch": branch, "reason": reason})


@pytest.fixture
async def feedback(tmp_path, database_url, clock):
    async with api_client(tmp_path, database_url, names=["feedback"], clock=clock) as api:
        yield Feedback(api)


def completion(member_id: str, project_id: uuid.UUID = PROJECT_ID, points: int = 10) -> tuple[str, str, str, int]:
    return (member_id, str(project_id), "completion", points)


async def test_a_confirmation_delivered_again_is_credited_once(feedback):
    await feedback.deliver(make_published(), make_confirmed("M002"))
    await feedback.deliver(make_confirmed("M002"))
    assert await feedback.entries() == [completion("M002")]
    assert feedback.credited("B0101", "completion") == 10, "the repeat wrote nothing, so counted nothing"


async def test_a_confirmation_twice_in_one_batch_is_credited_once(feedback):
    await feedback.deliver(make_published(), make_confirmed("M002"), make_confirmed("M002"))
    assert await feedback.entries() == [completion("M002")]


async def test_the_same_completion_under_another_event_id_is_credited_once(feedback):
    """A replay from the producer's side (a new event for a completion already credited)."""
    await feedback.deliver(make_confirmed("M002"))
    await feedback.deliver(make_confirmed("M002", event_id=uuid.uuid4()))
    assert await feedback.entries() == [completion("M002")]
    assert feedback.letters.parked == [], "a repeat is handled, not parked"
    assert feedback.credited("B0101", "completion") == 10


async def test_a_poison_record_costs_only_itself(feedback):
    poison = make_confirmed("M004", points=2**70)  # decodes, but no database stores the number
    await feedback.deliver(make_published(), make_confirmed("M002"), b"{not json", poison, make_confirmed("M002"),
                           make_confirmed("M003"))
    assert await feedback.entries() == [completion("M002"), completion("M003")]
    assert len(feedback.letters.parked) == 2
    await feedback.deliver(make_confirmed("M002"))
    assert await feedback.entries() == [completion("M002"), completion("M003")]
    assert feedback.credited("B0101", "completion") == 20


async def test_a_confirmation_before_its_project_is_credited_and_named_when_the_project_comes(feedback):
    await feedback.deliver(make_confirmed("M002"))
    before = await feedback.points_of("M002")
    assert (before["balance"], before["entries"][0]["project_no"]) == (10, None)
    await feedback.deliver(make_published())
    after = await feedback.points_of("M002")
    assert (after["balance"], after["entries"][0]["project_no"], after["entries"][0]["title"]) == (
        10, "XM20261121-001", "独居老人上门探访")


async def test_a_good_evaluation_after_the_confirmations_gives_each_member_the_bonus_once(feedback):
    await feedback.deliver(make_published(), make_confirmed("M002"), make_confirmed("M003"))
    assert (await feedback.evaluate(5)).status_code == 201
    assert (await feedback.evaluate(4)).status_code == 201, "several residents may evaluate"
    await feedback.deliver(make_confirmed("M002"))
    bonus = [(m, str(PROJECT_ID), "good_evaluation", BONUS) for m in ("M002", "M003")]
    assert await feedback.entries() == sorted([completion("M002"), completion("M003"), *bonus])
    assert feedback.credited("B0101", "good_evaluation") == 2 * BONUS


async def test_a_confirmation_after_the_good_evaluation_earns_the_bonus_with_it_once(feedback):
    await feedback.deliver(make_published(), make_confirmed("M002"))
    assert (await feedback.evaluate(2)).status_code == 201  # not good: no bonus
    assert [e for e in await feedback.entries() if e[2] == "good_evaluation"] == []
    assert (await feedback.evaluate(5)).status_code == 201
    await feedback.deliver(make_confirmed("M003"))
    await feedback.deliver(make_confirmed("M003"), make_confirmed("M003", event_id=uuid.uuid4()))
    got = await feedback.entries()
    assert [e for e in got if e[0] == "M003"] == [completion("M003"), ("M003", str(PROJECT_ID), "good_evaluation", 5)]
    assert (await feedback.points_of("M003"))["balance"] == 10 + BONUS
    assert feedback.letters.parked == []
    assert feedback.credited("B0101", "good_evaluation") == 2 * BONUS


async def test_a_late_withdrawal_costs_the_districts_penalty_once_and_an_early_one_nothing(feedback):
    await feedback.deliver(make_published(), make_withdrawn("M003", late=True), make_withdrawn("M004", late=False))
    await feedback.deliver(make_withdrawn("M003", late=True))
    assert await feedback.entries() == [("M003", str(PROJECT_ID), "late_withdrawal", LATE)]
    assert feedback.credited("B0101", "late_withdrawal") == abs(LATE)
    assert (await feedback.points_of("M003"))["balance"] == LATE


async def test_balances_are_the_sum_of_confirmed_completions_and_bonuses_in_any_order(feedback):
    rng = random.Random(20261121)
    projects = [uuid.UUID(int=0xB00 + n) for n in range(6)]
    members = ["M001", "M002", "M003", "M004"]
    confirmed = {(p, m): rng.randint(1, 20) for p in projects for m in members if rng.random() < 0.6}
    events: list[Message] = [make_published(project_id=p, project_no=f"XM20261121-{n:03d}") for n, p in
                             enumerate(projects)]
    events += [make_confirmed(m, project_id=p, points=points) for (p, m), points in confirmed.items()]
    events += rng.sample(events, 10)  # duplicates
    rng.shuffle(events)
    for start in range(0, len(events), 7):
        await feedback.deliver(*events[start:start + 7])
    rated = [p for p in projects if any(q == p for q, _ in confirmed)][:3]
    for p in rated:
        assert (await feedback.evaluate(5, project_id=p)).status_code == 201
    await feedback.deliver(*rng.sample(events, 10))  # redelivered after the evaluations
    for member in members:
        expected = sum(points + (BONUS if p in rated else 0) for (p, m), points in confirmed.items() if m == member)
        assert (await feedback.points_of(member))["balance"] == expected, member
    assert feedback.letters.parked == []


async def test_a_resident_needs_the_right_code_a_known_project_and_a_confirmed_completion(feedback):
    await feedback.deliver(make_published())
    assert (await feedback.evaluate(5, project_id=uuid.uuid4())).status_code == 404
    assert (await feedback.evaluate(5, code="WRONG1")).status_code == 403
    assert (await feedback.evaluate(5)).status_code == 409, "nothing done yet to evaluate"
    await feedback.deliver(make_confirmed("M002"))
    assert (await feedback.evaluate(5)).status_code == 201
    registry = feedback.api.system.context.registry
    assert registry.get_sample_value("appeal_project_evaluations_total", {"side": "resident"}) == 1


async def test_wrong_evaluation_codes_are_throttled(feedback):
    await feedback.deliver(make_published(), make_confirmed("M002"))
    statuses = [(await feedback.evaluate(5, code=f"WRONG{n}")).status_code for n in range(12)]
    assert statuses[0] == 403 and statuses[-1] == 429, statuses
    assert (await feedback.evaluate(5)).status_code == 429, "blocked even with the right code, for a while"


async def test_a_confirmed_member_evaluates_the_project_once(feedback):
    await feedback.deliver(make_published(), make_confirmed("M002"))
    url = f"/api/projects/{PROJECT_ID}/member-evaluation"
    body = {"rating": 4, "comment": "组织得好"}
    lin, chen = await feedback.api.login("M002"), await feedback.api.login("M003")
    assert (await feedback.api.http.post(url, json=body)).status_code == 401
    assert (await feedback.api.http.post(url, json=body, headers=chen)).status_code == 403
    assert (await feedback.api.http.post(f"/api/projects/{uuid.uuid4()}/member-evaluation", json=body,
                                         headers=lin)).status_code == 404
    assert (await feedback.api.http.post(url, json=body, headers=lin)).status_code == 201
    assert (await feedback.api.http.post(url, json=body, headers=lin)).status_code == 409


@pytest.mark.parametrize(("reader", "status"), [("M002", 200), ("M001", 200), ("M003", 403), ("M005", 403),
                                                ("U900", 200), ("U910", 403), ("U800", 200), ("U100", 403)])
async def test_who_reads_a_members_points(feedback, reader, status):
    response = await feedback.api.http.get("/api/points/members/M002", headers=await feedback.api.login(reader))
    assert response.status_code == status, response.text


async def test_the_leaderboard_counts_this_weeks_points_and_ranks_ties_together(feedback, clock):
    old = T0.replace(month=1)
    await feedback.deliver(make_published(), make_confirmed("M002", points=8), make_confirmed("M005", "B0102"),
                           make_confirmed("M009", "B0103", points=10),
                           make_confirmed("M003", at=old, project_id=uuid.UUID(int=7), points=30))
    member = await feedback.api.login("M002")
    week = await feedback.api.http.get("/api/points/leaderboard", params={"unit": "S01", "period": "week"},
                                       headers=member)
    assert week.status_code == 200, week.text
    ranks = [(m["rank"], m["member_id"], m["points"]) for m in week.json()["members"][:4]]
    assert ranks == [(1, "M005", 10), (1, "M009", 10), (3, "M002", 8), (4, "M001", 0)]
    assert [(b["rank"], b["branch_code"]) for b in week.json()["branches"]] == [(1, "B0102"), (1, "B0103"),
                                                                               (3, "B0101")]
    year = await feedback.api.http.get("/api/points/leaderboard", params={"unit": "B0101", "period": "year"},
                                       headers=member)
    assert year.json()["members"][0] == {"rank": 1, "member_id": "M003", "name": "陈志强", "branch_code": "B0101",
                                         "points": 30}
    assert year.json()["branches"] == []
    other_street = await feedback.api.http.get("/api/points/leaderboard", params={"unit": "S02"}, headers=member)
    assert other_street.status_code == 403


async def test_every_branch_and_reason_and_both_sides_start_at_zero(feedback):
    district = feedback.api.system.context.district
    for branch in district.branch_codes:
        for reason in ("completion", "good_evaluation", "late_withdrawal"):
            assert feedback.credited(branch, reason) == 0, (branch, reason)
    registry = feedback.api.system.context.registry
    assert [registry.get_sample_value("appeal_project_evaluations_total", {"side": side})
            for side in ("resident", "member")] == [0, 0]
