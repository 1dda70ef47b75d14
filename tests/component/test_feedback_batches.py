"""Feedback learns each case's tracking code from its registration, a batch at a time,
whether or not the case's resolve (another topic) came first."""

import uuid

from sqlalchemy import select

from services.feedback.store import RatableCase
from shared import topics
from tests.unit.factories import make_registered, make_resolved

CASES = [uuid.UUID(int=n) for n in range(1, 6)]


async def ratable(service) -> dict[str, RatableCase]:
    async with service.db.session() as session:
        return {c.case_id: c for c in (await session.execute(select(RatableCase))).scalars()}


async def test_a_batch_of_registrations_makes_each_case_ratable_once(service_under_test):
    async with service_under_test("feedback") as (service, broker):
        resolved_first = CASES[0]
        await broker.publish(make_resolved(1, case_id=resolved_first), topics.TASK_EVENTS)
        registrations = [make_registered(case_id=case_id, tracking_code_hash=f"hash-{n}")
                         for n, case_id in enumerate(CASES)]
        await broker.publish_batch(*registrations, topic=topics.CASE_REGISTERED)
        await broker.publish_batch(*registrations, topic=topics.CASE_REGISTERED)  # delivered again

        cases = await ratable(service)
        assert sorted(cases) == sorted(str(c) for c in CASES)
        assert {c.case_id: c.tracking_code_hash for c in cases.values()} == {
            str(case_id): f"hash-{n}" for n, case_id in enumerate(CASES)}
        first = cases[str(resolved_first)]
        assert (first.state, first.generation, first.member_id) == ("awaiting", 1, "M001")
        assert {c.state for c in cases.values() if c is not first} == {"open"}
