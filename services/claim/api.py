"""Claim's HTTP routes: a branch's task board, the moves on a task, and urging (督办)."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.claim import store
from services.claim.board import CLAIM, RESOLVE, RESPOND, RESUME, RETURN, SUSPEND, TaskBoard
from services.claim.suspension import suspension_left
from services.claim.tasks import ACTIVE, Move, SlaMark, TaskStatus
from shared.auth import Identity
from shared.district import Duration
from shared.errors import Refused, refusals
from shared.events import CaseSummary, FreeText
from shared.runtime import Context


class TaskView(BaseModel):
    case_id: str
    generation: int
    branch_code: str | None
    status: TaskStatus
    member_id: str | None
    case: CaseSummary = Field(description="The case as members see it; the phone number is masked.")
    dispatched_at: datetime
    accept_deadline: datetime | None
    respond_deadline: datetime | None
    claimed_at: datetime | None
    responded_at: datetime | None
    warning: SlaMark | None = Field(description="The clock's latest word on the task.")
    suspended_until: datetime | None = Field(
        description="While the respond clock is suspended (挂起), when it restarts by itself; earlier: when it did.")
    suspension_left_seconds: float = Field(description="How much more suspension this task may still have.")
    urge_count: int = Field(description="How often supervisors urged (督办) this dispatch; show the task "
                                        "prominently when above 0.")
    urged_at: datetime | None = Field(description="When it was last urged.")
    urge_note: str | None = Field(description="What the latest urge said, if anything.")

    @classmethod
    def of(cls, task: store.Task) -> "TaskView":
        return cls(case_id=task.case_id, generation=task.generation, branch_code=task.branch_code,
                   status=TaskStatus(task.status), member_id=task.member_id, case=task.case_summary,
                   dispatched_at=task.dispatched_at, accept_deadline=task.accept_deadline,
                   respond_deadline=task.respond_deadline, claimed_at=task.claimed_at,
                   responded_at=task.responded_at,
                   warning=None if task.warning is None else SlaMark(task.warning),
                   suspended_until=task.suspended_until,
                   suspension_left_seconds=suspension_left(task).total_seconds(),
                   urge_count=task.urge_count, urged_at=task.urged_at, urge_note=task.urge_note)


class NoteBody(BaseModel):
    note: FreeText = Field(default="", max_length=2000, examples=["已电话联系王女士，明早上门查看"])


class ReturnBody(BaseModel):
    reason: FreeText = Field(min_length=1, max_length=2000, examples=["不属于本社区辖区"])


class SuspendBody(BaseModel):
    reason: FreeText = Field(min_length=1, max_length=2000, examples=["诉求人电话无人接听，已短信告知"])
    limit: Duration = Field(description="How long at most, as 30m, 2h or 1d; the clock restarts by itself when "
                                        "it runs out. All suspensions of a task together stay within the "
                                        "district's suspend_limit.")


class UrgeBody(BaseModel):
    note: FreeText | None = Field(default=None, max_length=2000, examples=["群众反映强烈，请今天内上门"])


MOVE_REFUSALS = (401, {403: "Only members of the task's branch (for most moves, only its holder)."},
                 {404: "No such task."})


def build_router(tasks: TaskBoard, context: Context) -> APIRouter:
    router = APIRouter(tags=["tasks"])
    member = Annotated[Identity, Depends(context.auth.require("member"))]
    viewer = Annotated[Identity, Depends(context.auth.require("member", "supervisor", "command_center"))]
    overseer = Annotated[Identity, Depends(context.auth.require("supervisor", "command_center"))]

    @router.get("/api/branches/{branch_code}/tasks", response_model=list[TaskView], responses=refusals(
        401, {403: "Not a member of that branch, nor a supervisor of its street, nor the command center."}))
    async def branch_tasks(
        branch_code: str, who: viewer,
        status: Annotated[TaskStatus | None, Query(description="All active tasks when absent.")] = None,
    ) -> list[TaskView]:
        if who.role == "member" and who.unit != branch_code:
            raise Refused(403, "members see only their own branch's tasks")
        if who.role != "member" and not who.oversees(context.district, branch_code):
            raise Refused(403, "supervisors see the branches and the queue of their own street")
        async with tasks.uow.db.session() as session:
            rows = await store.board(session, branch_code, (status,) if status else (*ACTIVE, TaskStatus.ESCALATED))
        return [TaskView.of(t) for t in rows]

    async def act(move: Move, case_id: str, who: Identity, text: str | None, length: timedelta | None = None) \
            -> TaskView:
        return TaskView.of(await tasks.perform(move, case_id, who, text, length))

    @router.post("/api/tasks/{case_id}/claim", response_model=TaskView,
                 responses=refusals(*MOVE_REFUSALS, {409: "Someone else holds the task, or it is no longer open."}))
    async def claim(case_id: str, who: member) -> TaskView:
        return await act(CLAIM, case_id, who, None)

    @router.post("/api/tasks/{case_id}/respond", response_model=TaskView,
                 responses=refusals(400, *MOVE_REFUSALS, 409))
    async def respond(case_id: str, body: NoteBody, who: member) -> TaskView:
        return await act(RESPOND, case_id, who, body.note)

    @router.post("/api/tasks/{case_id}/resolve", response_model=TaskView,
                 responses=refusals(400, *MOVE_REFUSALS, 409))
    async def resolve(case_id: str, body: NoteBody, who: member) -> TaskView:
        return await act(RESOLVE, case_id, who, body.note)

    @router.post("/api/tasks/{case_id}/return", response_model=TaskView,
                 responses=refusals(400, *MOVE_REFUSALS, 409))
    async def give_back(case_id: str, body: ReturnBody, who: member) -> TaskView:
        return await act(RETURN, case_id, who, body.reason)

    @router.post("/api/tasks/{case_id}/suspend", response_model=TaskView,
                 responses=refusals(400, *MOVE_REFUSALS, {409: "Not the holder's claimed task, already suspended, or "
                                                               "the respond deadline has passed."}))
    async def suspend(case_id: str, body: SuspendBody, who: member) -> TaskView:
        """Stop the respond clock while the citizen cannot be reached (挂起)."""
        return await act(SUSPEND, case_id, who, body.reason, body.limit)

    @router.post("/api/tasks/{case_id}/resume", response_model=TaskView,
                 responses=refusals(*MOVE_REFUSALS, {409: "The clock is not suspended."}))
    async def resume(case_id: str, who: member) -> TaskView:
        """Restart the respond clock; the unused part of the suspension is given back."""
        return await act(RESUME, case_id, who, None)

    @router.post("/api/cases/{case_id}/urge", response_model=TaskView, responses=refusals(
        400, 401, {403: "Only a supervisor of the case's street, or the command center.", 404: "No such task.",
                   409: "No open task on a branch's board: in the street's queue, resolved, returned or expired."}))
    async def urge(case_id: str, who: overseer, body: UrgeBody | None = None) -> TaskView:
        """Urge the branch holding the task (督办); its board shows the urge."""
        return TaskView.of(await tasks.urge(case_id, who, body.note if body else None, context.district))

    return router
