"""Intake's gauges count in SQL what the report, the supervisor pages and the watch list
count in Python: on every backend, the same cases give the same numbers."""

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.intake.caseview import OPEN_STATUSES, STATUSES
from services.intake.counts import (
    AGE_BANDS,
    NO_BRANCH,
    measure_conditions,
    open_cases_by_age,
    outcome_counts,
    running_near_deadline,
    street_queues,
)
from services.intake.report import MEASURES, PERIODS, UNROUTED, build_report
from services.intake.store import TABLES, Case, report_rows
from services.intake.watch import count_watched, warning_reach, watched
from shared.runtime import service_database
from shared.settings import Settings
from tests.unit.factories import sample_district

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
DISTRICT = sample_district()
BRANCHES = ["B0101", "B0102", "B0201", None]
STREETS = ["S01", "S02", None]
"""Where a case is: a branch (and its street), or a street's queue, or nowhere yet."""


def random_case(rng: random.Random, seq: int) -> Case:
    """Every combination that decides a count turns up among a few hundred of these."""
    dispatched = rng.random() < 0.8
    branch = rng.choice(BRANCHES)
    street = DISTRICT.street_of_branch[branch] if branch else rng.choice(STREETS)
    maybe = lambda value: value if rng.random() < 0.5 else None  # noqa: E731
    deadline = lambda: NOW + timedelta(minutes=rng.uniform(-90, 90))  # noqa: E731
    return Case(
        case_id=str(uuid.uuid4()), case_no=f"GL{seq:08d}", tracking_code="ABCD2345", source="hotline",
        description="楼道噪音", category="noise", priority=rng.choice(["normal", "urgent"]),
        created_at=NOW - timedelta(days=rng.uniform(0, 45)), correlation_id=str(uuid.uuid4()),
        status=rng.choice(STATUSES), branch_code=branch, street_code=street,
        first_dispatched_at=NOW - timedelta(days=1) if dispatched else None,
        seconds_to_accept=maybe(rng.uniform(10, 900)), accept_breached=rng.random() < 0.3,
        seconds_to_respond=maybe(rng.uniform(60, 5000)), respond_breached=rng.random() < 0.3,
        resolved=rng.random() < 0.5, satisfied=rng.choice([True, False, None]),
        accept_deadline=deadline() if rng.random() < 0.9 else None,
        respond_deadline=deadline() if rng.random() < 0.9 else None,
        suspended_until=NOW + timedelta(minutes=5) if rng.random() < 0.1 else None,
    )


@pytest.fixture
async def intake_db(database_url, tmp_path):
    db = service_database(Settings(data_dir=tmp_path), "intake", TABLES, database_url)
    await db.create_tables()
    rng = random.Random(20261203)
    async with db.session() as session, session.begin():
        session.add_all(random_case(rng, seq) for seq in range(600))
    yield db
    await db.dispose()


def test_every_measure_of_the_report_has_its_condition():
    assert tuple(measure_conditions()) == MEASURES


async def test_the_outcome_gauges_count_what_the_report_counts(intake_db):
    """Branch by branch as `appeal report` shows them, and street by street as `appeal
    report --street` and the supervisor page do (its branches and its queue)."""
    starts = {period: (NOW - window if window else None) for period, (_, window) in PERIODS.items()}
    async with intake_db.reading() as session:
        counted = await outcome_counts(session, starts)
        for period, start in starts.items():
            by_branch: Counter[tuple[str, str]] = Counter()
            by_street: Counter[tuple[str, str]] = Counter()
            for (p, street, branch, measure), n in counted.items():
                if p == period:
                    by_branch[branch, measure] += n
                    by_street[street, measure] += n
            report = build_report(await report_rows(session, since=start), {})
            assert +by_branch == +Counter({(NO_BRANCH if line.branch_code == UNROUTED else line.branch_code, measure):
                                           getattr(line, measure) for line in report.lines for measure in MEASURES})
            for street in DISTRICT.streets:
                branches = [c.branch.code for c in street.communities]
                total = build_report(await report_rows(session, since=start, street_code=street.code,
                                                       street_branches=branches), {}).total
                assert {m: by_street[street.code, m] for m in MEASURES} == {m: getattr(total, m) for m in MEASURES}
                assert total.rated > 0 or street.code not in STREETS


async def test_the_deadline_gauges_count_what_the_watch_list_shows(intake_db):
    policies = sample_district().sla
    async with intake_db.reading() as session:
        near = await running_near_deadline(session, NOW + warning_reach(policies.values()))
        every = list((await session.execute(Case.__table__.select())).all())  # type: ignore[attr-defined]  # SQLModel declares no __table__
    counts = count_watched(near, policies, NOW)
    soon, late = Counter(), Counter()
    for case in every:
        seen = watched(case.status, case.accept_deadline, case.respond_deadline, case.suspended_until,
                       policies[case.priority], NOW)
        if seen is not None:
            (late if seen.late else soon)[seen.stage, case.branch_code or NO_BRANCH] += 1
    assert counts.soon == soon and counts.late == late
    assert sum(soon.values()) > 0 and sum(late.values()) > 0


async def test_the_queue_and_age_gauges_count_open_cases(intake_db):
    async with intake_db.reading() as session:
        queues = await street_queues(session)
        ages = await open_cases_by_age(session, NOW)
        every = list((await session.execute(Case.__table__.select())).all())  # type: ignore[attr-defined]  # SQLModel declares no __table__
    assert queues == Counter(c.street_code or NO_BRANCH for c in every if c.status == "escalated")

    def band(created_at: datetime) -> str:
        age = NOW - (created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC))
        return next(name for name, bound in AGE_BANDS if bound is None or age <= bound)

    assert ages == Counter((c.branch_code or NO_BRANCH, band(c.created_at)) for c in every
                           if c.status in OPEN_STATUSES)
