"""SLA timers as rows: one per (case, kind, generation), fired at most once."""

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Index,
    Row,
    Table,
    UniqueConstraint,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from services.sla.deadlines import TimerKind, TimerState, plan_timers
from services.sla.settling import Settlement
from services.sla.watching import CaseGeneration, Outcome, WatchState
from shared.db import Database
from shared.events import SlaStage


class Timer(SQLModel, table=True):
    __tablename__ = "sla_timer"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "generation", name="uq_sla_timer_case_kind_generation"),
        Index("ix_sla_timer_pending_due", "state", "due_at"),
        # Both columns: with only case_id indexed, SQLite read every pending timer to cancel a case's.
        Index("ix_sla_timer_case_state", "case_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=36)
    correlation_id: str = Field(max_length=36)
    kind: str = Field(max_length=24)
    stage: str = Field(max_length=16)
    generation: int
    branch_code: str = Field(max_length=32)
    due_at: datetime
    deadline: datetime
    state: str = Field(default=TimerState.PENDING, max_length=16, description="A TimerState.")
    fired_at: datetime | None = None


class Watch(SQLModel, table=True):
    """The case's current dispatch as the clock sees it: what its timers are made from,
    so the auditor can rebuild a missing one."""

    __tablename__ = "sla_watch"
    # The auditor goes round the open ones in case order (``unwatched_in_slice``).
    __table_args__ = (Index("ix_sla_watch_open_case", "open", "case_id"),)

    case_id: str = Field(primary_key=True, max_length=36)
    correlation_id: str = Field(max_length=36)
    generation: int
    branch_code: str = Field(max_length=32)
    dispatched_at: datetime
    accept_deadline: datetime
    respond_deadline: datetime
    warn_at: float
    open: bool = True

    def deadline(self, stage: SlaStage) -> datetime:
        return self.accept_deadline if stage == SlaStage.ACCEPT else self.respond_deadline

    def move_deadline(self, stage: SlaStage, by: timedelta) -> datetime:
        moved = self.deadline(stage) + by
        if stage == SlaStage.ACCEPT:
            self.accept_deadline = moved
        else:
            self.respond_deadline = moved
        return moved


class Settled(SQLModel, table=True):
    """A stage that no longer needs a timer. Kept so that a claim seen before its own
    dispatch (the two travel on different topics) still stops the timer being set."""

    __tablename__ = "sla_settled"

    case_id: str = Field(primary_key=True, max_length=36)
    generation: int = Field(primary_key=True)
    stage: str = Field(primary_key=True, max_length=16)


class EarlyShift(SQLModel, table=True):
    """A suspension or resume seen before its own dispatch (they too travel on different
    topics): how far to move the stage's deadline once the dispatch arrives."""

    __tablename__ = "sla_early_shift"

    case_id: str = Field(primary_key=True, max_length=36)
    generation: int = Field(primary_key=True)
    stage: str = Field(primary_key=True, max_length=16)
    seconds: float = 0.0


TABLES = [Timer.__table__, Watch.__table__, Settled.__table__, EarlyShift.__table__]  # type: ignore[attr-defined]  # SQLModel declares no __table__
TIMERS, WATCHES, SETTLED, EARLY_SHIFTS = TABLES
WATCH_COLUMNS = tuple(WATCHES.c.keys())


async def lock_cases(db: Database, session: AsyncSession, case_ids: Collection[str]) -> None:
    """Hold these cases until the transaction ends (PostgreSQL; SQLite has one writer).
    Their watch rows cannot serve: a case's first dispatch has none yet, and a claim or a
    suspension of it handled meanwhile by another consumer of this service would see no
    timer to cancel or move, and the dispatch no settlement or shift to apply — both would
    commit, leaving timers pending for a stage already settled."""
    await db.hold_locks(session, [f"case:{case_id}" for case_id in case_ids])


async def watches_of(session: AsyncSession, case_ids: Collection[str]) -> dict[str, WatchState]:
    """The cases' watches, locked in key order (as every batch takes them, so two batches
    never wait on each other in a ring): a suspension of the same case then waits for the
    batch, or committed before and its early shift is read after this."""
    query = select(WATCHES).where(WATCHES.c.case_id.in_(sorted(case_ids))).order_by(WATCHES.c.case_id)
    rows = await session.execute(query.with_for_update())
    return {row.case_id: WatchState(**row._mapping) for row in rows}


async def early_shifts_of(session: AsyncSession,
                          case_ids: Collection[str]) -> dict[CaseGeneration, dict[SlaStage, float]]:
    rows = await session.execute(select(EARLY_SHIFTS).where(EARLY_SHIFTS.c.case_id.in_(case_ids)))
    found: dict[CaseGeneration, dict[SlaStage, float]] = {}
    for row in rows:
        found.setdefault((row.case_id, row.generation), {})[SlaStage(row.stage)] = row.seconds
    return found


async def settled_of(session: AsyncSession, case_ids: Collection[str]) -> dict[CaseGeneration, set[str]]:
    rows = await session.execute(select(SETTLED).where(SETTLED.c.case_id.in_(case_ids)))
    found: dict[CaseGeneration, set[str]] = {}
    for row in rows:
        found.setdefault((row.case_id, row.generation), set()).add(row.stage)
    return found


async def record(session: AsyncSession, outcome: Outcome, known: Collection[str]) -> None:
    """Write what a run of dispatch events decided (``watching.replay``) as plain rows, one
    statement per table and kind of change: built and flushed one by one, the ORM objects
    and statements of an event cost ten times the rest of its handling.
    ``known``: the cases that had a watch row before the run."""
    if outcome.cancel:  # before the run's own timers are written: those carry their state
        await session.execute(cancel_statement(*outcome.cancel))
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for watch in outcome.watches.values():
        values = {name: getattr(watch, name) for name in WATCH_COLUMNS}
        if watch.case_id in known:
            values["key"] = values.pop("case_id")
            changed.append(values)
        else:
            new.append(values)
    if new:
        await session.execute(insert(WATCHES), new)
    if changed:
        await session.execute(update(WATCHES).where(WATCHES.c.case_id == bindparam("key")), changed)
    if outcome.shifts_taken:
        await session.execute(delete(EARLY_SHIFTS).where(
            tuple_(EARLY_SHIFTS.c.case_id, EARLY_SHIFTS.c.generation).in_(sorted(outcome.shifts_taken))))
    timers: list[dict[str, Any]] = []
    for arming in outcome.armings:
        watch, state = arming.watch, TimerState.CANCELLED if arming.cancelled else TimerState.PENDING
        timers.extend({"case_id": watch.case_id, "correlation_id": watch.correlation_id, "kind": plan.kind,
                       "stage": plan.stage, "generation": watch.generation, "branch_code": watch.branch_code,
                       "due_at": plan.due_at, "deadline": plan.deadline, "state": state} for plan in arming.plans)
    if timers:
        await session.execute(insert(TIMERS), timers)


async def close(session: AsyncSession, closed: Collection[CaseGeneration]) -> None:
    """Closed cases need no timer; a watch is closed if it is of the closed generation.
    The watches are locked first, as a dispatch and a suspension lock them before the timers."""
    cases = {case_id for case_id, _ in closed}
    watches = await watches_of(session, cases)
    await session.execute(cancel_statement(*cases))
    ended = [{"key": case_id} for case_id, generation in set(closed)
             if case_id in watches and watches[case_id].generation == generation]
    if ended:
        await session.execute(update(WATCHES).where(WATCHES.c.case_id == bindparam("key")).values(open=False), ended)


async def set_timers(session: AsyncSession, watch: Watch, *, only_missing: bool = False) -> int:
    """Timer rows for every stage of the watched dispatch not yet settled."""
    settled = await settled_stages(session, watch.case_id, watch.generation)
    existing = set()
    if only_missing:
        rows = await session.execute(select(col(Timer.kind)).where(
            col(Timer.case_id) == watch.case_id, col(Timer.generation) == watch.generation))
        existing = set(rows.scalars())
    plans = plan_timers(watch.dispatched_at, watch.accept_deadline, watch.respond_deadline,
                        watch.warn_at)
    added = 0
    for plan in plans:
        if plan.stage in settled or plan.kind in existing:
            continue
        session.add(Timer(case_id=watch.case_id, correlation_id=watch.correlation_id, kind=plan.kind,
                          stage=plan.stage, generation=watch.generation, branch_code=watch.branch_code,
                          due_at=plan.due_at, deadline=plan.deadline))
        added += 1
    return added


async def unwatched_in_slice(session: AsyncSession, after: str, size: int) -> tuple[list[Watch], str | None]:
    """Of the next ``size`` open dispatches after case ``after``, those with an unsettled
    stage that has no timer row at all (a timer that never got written is the one failure
    the firing loop cannot see); and where the next slice starts, None past the last.
    A slice at a time, so a check costs the same however many cases are open."""
    watches = list((await session.execute(
        select(Watch).where(col(Watch.open), col(Watch.case_id) > after).order_by(col(Watch.case_id)).limit(size)
    )).scalars())
    if not watches:
        return [], None
    case_ids = [watch.case_id for watch in watches]
    deadline_kinds = [TimerKind.of(stage, warning=False) for stage in SlaStage]
    timed = set((await session.execute(select(TIMERS.c.case_id, TIMERS.c.generation, TIMERS.c.stage).where(
        TIMERS.c.case_id.in_(case_ids), TIMERS.c.kind.in_(deadline_kinds)))).tuples())
    settled = await settled_of(session, case_ids)
    unwatched = [watch for watch in watches
                 if any((watch.case_id, watch.generation, stage) not in timed
                        and stage not in settled.get((watch.case_id, watch.generation), set())
                        for stage in SlaStage)]
    return unwatched, case_ids[-1] if len(watches) == size else None


async def overdue_count(session: AsyncSession, before: datetime) -> int:
    return (await session.execute(
        select(func.count()).where(col(Timer.state) == TimerState.PENDING, col(Timer.due_at) < before))).scalar_one()


async def settle(session: AsyncSession, settlements: Sequence[Settlement]) -> None:
    """Record the stages as settled and cancel their pending timers: one statement per
    table for a run of moves (a second settlement of a stage finds it recorded)."""
    cases = {s.case_id for s in settlements}
    rows = await session.execute(select(SETTLED.c.case_id, SETTLED.c.generation, SETTLED.c.stage)
                                 .where(SETTLED.c.case_id.in_(cases)))
    done = set(rows.tuples())
    new = {(s.case_id, s.generation, stage) for s in settlements for stage in s.stages} - done
    if new:
        await session.execute(insert(SETTLED), [{"case_id": case_id, "generation": generation, "stage": stage}
                                                for case_id, generation, stage in new])
    by_stages: dict[tuple[SlaStage, ...], set[CaseGeneration]] = {}
    for s in settlements:
        by_stages.setdefault(s.stages, set()).add((s.case_id, s.generation))
    for stages, pairs in by_stages.items():
        await session.execute(cancel_stages_statement(pairs, stages))


def cancel_stages_statement(pairs: Collection[CaseGeneration], stages: tuple[SlaStage, ...]) -> Update:
    """Cancel the pending timers of these stages for each (case, generation)."""
    kinds = tuple(kind for kind in TimerKind if kind.stage in stages)
    return cancel_statement(*{case_id for case_id, _ in pairs}, kinds=kinds).where(
        tuple_(col(Timer.case_id), col(Timer.generation)).in_(sorted(pairs)))


async def settled_stages(session: AsyncSession, case_id: str, generation: int) -> set[str]:
    return (await settled_of(session, [case_id])).get((case_id, generation), set())


async def cancel(session: AsyncSession, case_id: str, *, generation: int | None = None,
                 kinds: tuple[str, ...] | None = None) -> int:
    result = await session.execute(cancel_statement(case_id, generation=generation, kinds=kinds))
    return result.rowcount  # type: ignore[attr-defined]  # SQLAlchemy types Result; an UPDATE gives a CursorResult


def cancel_statement(*case_ids: str, generation: int | None = None, kinds: tuple[str, ...] | None = None) -> Update:
    condition = [col(Timer.case_id).in_(case_ids), col(Timer.state) == TimerState.PENDING]
    if generation is not None:
        condition.append(col(Timer.generation) == generation)
    if kinds is not None:
        condition.append(col(Timer.kind).in_(kinds))
    return update(Timer).where(*condition).values(state=TimerState.CANCELLED)


async def shift(session: AsyncSession, case_id: str, generation: int, stage: SlaStage, by: timedelta) -> int:
    """Move a running stage's deadline and its warning by ``by`` (a suspension or its
    resume). Timers that already fired for the old times are armed again: the claim
    service finds an event for a moved deadline stale, so the new ones must still fire
    (a warning that lands in the past fires at once: the deadline is near)."""
    watch = await session.get(Watch, case_id, with_for_update=True)
    if watch is None or watch.generation < generation:
        early = await session.get(EarlyShift, (case_id, generation, stage), with_for_update=True)
        if early is None:
            session.add(EarlyShift(case_id=case_id, generation=generation, stage=stage, seconds=by.total_seconds()))
        else:
            early.seconds += by.total_seconds()
        return 0
    if watch.generation > generation or stage in await settled_stages(session, case_id, generation):
        return 0
    watch.move_deadline(stage, by)
    moved = 0
    for timer in await stage_timers(session, case_id, generation, stage):
        if timer.state in (TimerState.PENDING, TimerState.FIRED):
            timer.due_at, timer.deadline = timer.due_at + by, timer.deadline + by
            timer.state, timer.fired_at = TimerState.PENDING, None
            moved += 1
    return moved


async def claim_due(session: AsyncSession, now: datetime, limit: int, *, lock: bool) -> Sequence[Row]:
    """Mark up to ``limit`` due timers fired and return them, oldest due first: one
    statement, so a row is claimed and marked in the same step, and plain rows rather
    than ORM objects (a batch of 500 entities cost a quarter of the loop's time).
    ``lock`` skips rows another replica is claiming instead of waiting for them."""
    timers: Table = Timer.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    oldest = (select(timers.c.id).where(timers.c.state == TimerState.PENDING, timers.c.due_at <= now)
              .order_by(timers.c.due_at).limit(limit))
    if lock:
        oldest = oldest.with_for_update(skip_locked=True)
    claimed = await session.execute(
        update(timers).where(timers.c.id.in_(oldest)).values(state=TimerState.FIRED, fired_at=now)
        .returning(timers.c.id, timers.c.case_id, timers.c.correlation_id, timers.c.kind, timers.c.stage,
                   timers.c.generation, timers.c.branch_code, timers.c.due_at, timers.c.deadline))
    # RETURNING promises no order.
    return sorted(claimed.all(), key=lambda t: (t.due_at, t.id))


async def next_due(session: AsyncSession) -> datetime | None:
    query = select(func.min(col(Timer.due_at))).where(col(Timer.state) == TimerState.PENDING)
    return (await session.execute(query)).scalar_one()


async def pending_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).where(col(Timer.state) == TimerState.PENDING))).scalar_one()


async def stage_timers(session: AsyncSession, case_id: str, generation: int, stage: SlaStage) -> list[Timer]:
    """Locked, for moving them: the firing loop then skips them, or has committed first
    and they are read as fired."""
    rows = await session.execute(select(Timer).where(
        col(Timer.case_id) == case_id, col(Timer.generation) == generation, col(Timer.stage) == stage,
    ).with_for_update())
    return list(rows.scalars())
