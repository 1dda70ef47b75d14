"""Claim's HTTP routes for volunteer projects: publish, list and read, a member's steps,
and the confirmation of a completion. The rules are ``projects``', the work ``hall``'s."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.claim import project_store as store
from services.claim.hall import ProjectHall, Proposal, Published
from services.claim.projects import (
    CHECK_IN,
    CHECK_OUT,
    MAX_REPEAT_WEEKS,
    MAX_SLOTS,
    REPORT,
    WITHDRAW,
    ProjectStatus,
    SlotStatus,
    Step,
    hall_order,
    matches_skills,
    may_manage,
    may_see,
    street_seen_by,
)
from shared.auth import Identity
from shared.district import District
from shared.errors import Refused, refusals
from shared.events import FreeText
from shared.runtime import Context

Code = Annotated[str, Field(max_length=32)]


class ProjectBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: FreeText = Field(min_length=1, max_length=100, examples=["独居老人上门探访"])
    description: FreeText = Field(min_length=1, max_length=4000,
                                  examples=["陪伴聊天，检查燃气、用电安全，了解生活需求"])
    skills: list[Code] = Field(default=[], max_length=20, description="Category codes of the skills wanted.",
                               examples=[["elderly"]])
    place: FreeText = Field(min_length=1, max_length=200, examples=["三坊七巷社区服务站"])
    starts_at: AwareDatetime = Field(description="With its UTC offset; within a year from now.")
    ends_at: AwareDatetime = Field(description="After the start, at most 7 days later.")
    slots: int = Field(ge=1, le=MAX_SLOTS, description="How many members the project takes.")
    points: int | None = Field(default=None, ge=0, description="Each member's points; the district's "
                               "points.per_project when absent, at most points.max_per_project.")
    claim_cutoff: AwareDatetime | None = Field(default=None, description="When claims close: in the future, not "
                                               "after the start; the start when absent.")
    repeat_weeks: int = Field(default=1, ge=1, le=MAX_REPEAT_WEEKS, description="Publish this many weekly "
                              "occurrences, each a project with its own slots, sharing a series_id.")
    branch_code: Code | None = Field(default=None, description="The branch it is for; a secretary's own when "
                                     "absent; none (and street_code) for a project of a whole street.")
    street_code: Code | None = Field(default=None, description="For supervisors: their own street when absent; "
                                     "the command center names it.")
    case_ids: list[uuid.UUID] = Field(default=[], max_length=50, description="Appeals of the street (on claim's "
                                      "task board) that the project answers.")

    def proposal(self) -> Proposal:
        return Proposal(title=self.title, description=self.description, skills=self.skills, place=self.place,
                        starts_at=self.starts_at, ends_at=self.ends_at, slots=self.slots, points=self.points,
                        claim_cutoff=self.claim_cutoff, repeat_weeks=self.repeat_weeks, branch_code=self.branch_code,
                        street_code=self.street_code, case_ids=tuple(self.case_ids))


class ReportBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    note: FreeText = Field(min_length=1, max_length=2000, examples=["陪李奶奶聊天一小时，检查了燃气阀门"])


class SlotView(BaseModel):
    member_id: str
    member_name: str
    branch_code: str = Field(description="The member's own branch.")
    status: SlotStatus
    claims: int = Field(description="How often the member claimed this project (again after withdrawing).")
    claimed_at: datetime
    withdrawn_at: datetime | None
    late: bool = Field(description="Withdrew after the claim cut-off: the slot stayed taken.")
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    reported_at: datetime | None
    note: str | None = Field(description="The member's report.")
    confirmed_at: datetime | None
    confirmed_by: str | None

    @classmethod
    def of(cls, slot: store.ProjectSlot, district: District) -> "SlotView":
        person = district.person_by_id.get(slot.member_id)
        return cls(member_name=person.name if person else slot.member_id,
                   **slot.model_dump(include=set(cls.model_fields) - {"member_name", "status"}),
                   status=SlotStatus(slot.status))


class ProjectView(BaseModel):
    project_id: str
    project_no: str
    title: str
    description: str
    skills: list[str]
    place: str
    street_code: str
    branch_code: str | None = Field(description="None for a project of the whole street.")
    publisher_id: str
    starts_at: datetime
    ends_at: datetime
    claim_cutoff: datetime
    slots: int
    filled: int = Field(description="Slots taken, late withdrawals included.")
    points: int
    series_id: str | None
    occurrence: int
    case_ids: list[str]
    status: ProjectStatus
    published_at: datetime
    skill_match: bool | None = Field(default=None, description="For a member: the project wants one of their "
                                                               "skills.")

    @classmethod
    def of(cls, project: store.Project, who: Identity | None = None, district: District | None = None) -> "ProjectView":
        skills = district.member_by_id[who.user_id].skills if who and district and who.role == "member" else None
        return cls(**project.model_dump(exclude={"evaluation_code_hash", "status"}),
                   status=ProjectStatus(project.status),
                   skill_match=None if skills is None else matches_skills(project, skills))


class PublishedProject(ProjectView):
    evaluation_code: str = Field(description="Give this to the residents served: they evaluate the project with "
                                             "it. Shown this once; only its hash is kept.")


class ProjectDetail(ProjectView):
    members: list[SlotView] | None = Field(description="Every slot, for the secretary of the project's branch and "
                                                       "supervisors of its street; None for others.")
    my_slot: SlotView | None = Field(description="The caller's own slot, for a member.")


class Listing(StrEnum):
    OPEN = "open"
    ALL = "all"


ACT_REFUSALS = (401, {403: "Only a member of the project's street, for their own slot.", 404: "No such project, "
                      "or (for a step after claiming) no slot of yours in it."})


def build_router(hall: ProjectHall, context: Context) -> APIRouter:
    router = APIRouter(tags=["projects"])
    district = context.district
    member = Annotated[Identity, Depends(context.auth.require("member"))]
    staff = Annotated[Identity, Depends(context.auth.require("member", "supervisor", "command_center"))]

    @router.post("/api/projects", status_code=201, response_model=list[PublishedProject], responses=refusals(
        400, 401, {403: "Not a branch secretary (for their branch), a supervisor (for their street) or the command "
                        "center.",
                   422: "A field is missing or wrong (named in loc): times, slots, points, skills, or case_ids not "
                        "on the street's task board. Nothing is stored."}))
    async def publish(body: ProjectBody, who: staff) -> list[PublishedProject]:
        """Publish a volunteer project in the hall (服务大厅), or one per week of a recurring one."""
        return [_published(p) for p in await hall.publish(body.proposal(), who)]

    @router.get("/api/projects", response_model=list[ProjectView], responses=refusals(
        401, {403: "Members and supervisors see only their own street."}))
    async def list_projects(
        who: staff,
        status: Annotated[Listing, Query(description="open: claims not closed, soonest first; all: the latest "
                                                     "200 by start, latest first.")] = Listing.OPEN,
        street_code: Annotated[str | None, Query(max_length=32, description="The command center's choice.")] = None,
    ) -> list[ProjectView]:
        """A member's open list puts projects wanting one of their skills first, then goes by start."""
        street = street_seen_by(who, district, street_code)
        async with hall.uow.db.session() as session:
            rows = await store.projects(session, street, claimable_at=context.clock.now()
                                        if status == Listing.OPEN else None)
        if who.role == "member" and status == Listing.OPEN:
            rows = hall_order(rows, district.member_by_id[who.user_id].skills)
        return [ProjectView.of(p, who, district) for p in rows]

    @router.get("/api/projects/{project_id}", response_model=ProjectDetail, responses=refusals(
        401, {403: "Not a project of your street.", 404: "No such project."}))
    async def read_project(project_id: str, who: staff) -> ProjectDetail:
        async with hall.uow.db.session() as session:
            project = await store.find_project(session, project_id)
            if project is None:
                raise Refused(404, "no such project")
            if not may_see(who, district, project):
                raise Refused(403, "this project is not of your street")
            slots = await store.slots_of(session, [project_id])
        return detail_of(project, slots, who, district)

    async def step(step: Step, project_id: str, who: Identity, note: str | None = None) -> SlotView:
        return SlotView.of(await hall.step(step, project_id, who, note), district)

    @router.post("/api/projects/{project_id}/claim", response_model=SlotView, responses=refusals(
        *ACT_REFUSALS, {409: "Every slot is taken, claims have closed, or you have claimed it already."}))
    async def claim(project_id: str, who: member) -> SlotView:
        """Take a slot; a member who withdrew before the cut-off may claim again."""
        return SlotView.of(await hall.claim(project_id, who), district)

    @router.post("/api/projects/{project_id}/withdraw", response_model=SlotView, responses=refusals(
        *ACT_REFUSALS, {409: "Not claimed (or already checked in), or the project is over."}))
    async def withdraw(project_id: str, who: member) -> SlotView:
        """Before the cut-off the slot reopens; after it the withdrawal is late and it does not."""
        return await step(WITHDRAW, project_id, who)

    @router.post("/api/projects/{project_id}/check-in", response_model=SlotView, responses=refusals(
        *ACT_REFUSALS, {409: "Not claimed, already checked in, or outside an hour before the start to the end."}))
    async def check_in(project_id: str, who: member) -> SlotView:
        return await step(CHECK_IN, project_id, who)

    @router.post("/api/projects/{project_id}/check-out", response_model=SlotView, responses=refusals(
        *ACT_REFUSALS, {409: "Not checked in, or more than two hours after the end."}))
    async def check_out(project_id: str, who: member) -> SlotView:
        return await step(CHECK_OUT, project_id, who)

    @router.post("/api/projects/{project_id}/report", response_model=SlotView, responses=refusals(
        400, *ACT_REFUSALS, {409: "Not checked out, or reported already."}))
    async def report(project_id: str, body: ReportBody, who: member) -> SlotView:
        """What the member did; the secretary confirms the completion from it."""
        return await step(REPORT, project_id, who, body.note)

    @router.post("/api/projects/{project_id}/members/{member_id}/confirm", response_model=SlotView,
                 responses=refusals(401, {403: "Not the secretary of the project's branch, a supervisor of its "
                                               "street or the command center.",
                                          404: "No such project, or the member has no slot in it.",
                                          409: "The member has not reported, or is confirmed already."}))
    async def confirm(project_id: str, member_id: str, who: staff) -> SlotView:
        """Confirm a member's completion: their points are credited from it, once."""
        return SlotView.of(await hall.confirm(project_id, member_id, who), district)

    return router


def detail_of(project: store.Project, slots: list[store.ProjectSlot], who: Identity,
              district: District) -> ProjectDetail:
    mine = next((s for s in slots if s.member_id == who.user_id), None) if who.role == "member" else None
    members = [SlotView.of(s, district) for s in slots] if may_manage(who, district, project) else None
    return ProjectDetail(**ProjectView.of(project, who, district).model_dump(), members=members,
                         my_slot=SlotView.of(mine, district) if mine else None)


def _published(published: Published) -> PublishedProject:
    return PublishedProject(**ProjectView.of(published.project).model_dump(),
                            evaluation_code=published.evaluation_code)
