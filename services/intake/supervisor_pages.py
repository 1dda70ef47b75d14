"""The street supervisor's overview (the command center picks a street): cases past or
near a deadline first, the street's queue, and the league table of its branches, with
the forms for 改派, 督办 and 延期 (each handled by the service that owns it)."""

from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.intake.api import detail
from services.intake.report import PERIODS, UNROUTED, BranchLine, build_report
from services.intake.store import Case, report_rows, street_open_cases
from services.intake.watch import watched
from shared.auth import Identity
from shared.district import District, Street
from shared.events import Priority
from shared.idempotency import UnitOfWork
from shared.runtime import Context
from shared.web.site import service_pages
from shared.web.supervision import outcome_words

TEMPLATES = Path(__file__).parent / "templates"
EXTEND_BY = {"10m": "10分钟", "30m": "30分钟", "1h": "1小时", "2h": "2小时", "1d": "1天"}
OVERVIEW_REFRESH_SECONDS = 30
SUPERVISING = ("supervisor", "command_center")


def build_supervisor_router(uow: UnitOfWork, context: Context) -> APIRouter:
    pages = service_pages(context, TEMPLATES)
    district = context.district
    supervisor = Depends(pages.auth.require("supervisor", "command_center"))
    router = APIRouter(include_in_schema=False)

    @router.get("/supervisor", response_class=HTMLResponse)
    async def overview(request: Request, who: Annotated[Identity, supervisor],
                       street: Annotated[str, Query(max_length=32)] = "",
                       period: Annotated[str, Query(max_length=8)] = "30d",
                       action: Annotated[str | None, Query(max_length=16)] = None,
                       outcome: Annotated[int | None, Query(ge=100, le=599)] = None,
                       case: Annotated[str, Query(max_length=40)] = "") -> Response:
        shown = _street_shown(who, street, district.streets, district.street_by_code)
        period = period if period in PERIODS else "30d"
        now = context.clock.now()
        window = PERIODS[period][1]
        branches = [c.branch.code for c in shown.communities]
        async with uow.db.session() as session:
            running = await street_open_cases(session, shown.code, ("dispatched", "claimed"))
            queue = await street_open_cases(session, shown.code, ("escalated",))
            rows = await report_rows(session, since=now - window if window else None, street_code=shown.code,
                                     street_branches=branches)
        # The staff view of each case: phone numbers in free text masked, as everywhere but the operator's.
        watchlist = sorted(((w, detail(c, context, full=False)) for c in running
                            if (w := watched(c.status, c.accept_deadline, c.respond_deadline, c.suspended_until,
                                             district.sla[cast(Priority, c.priority)], now))),
                           key=lambda pair: (not pair[0].late, pair[0].deadline))
        report = build_report(rows, {c.branch.code: c.branch.name for c in shown.communities})
        league = sorted((line for line in report.lines if line.branch_code != UNROUTED), key=_league_order)
        targets = district.communities if who.role == "command_center" else shown.communities
        return pages.render(request, "supervisor.html", who=who, street=shown, streets=district.streets,
                            watchlist=watchlist, queue=[detail(c, context, full=False) for c in queue],
                            league=league, total=report.total,
                            period=period, periods=PERIODS, extend_by=EXTEND_BY, targets=targets,
                            case_no=case, refresh=OVERVIEW_REFRESH_SECONDS, **supervisor_said(action, outcome))

    return router


def supervisor_said(action: str | None, outcome: int | None) -> dict[str, Any]:
    """How a supervisor's action went, as the page shows it: a notice, or an error."""
    words = outcome_words(action, outcome)
    if words is None:
        return {}
    return {"notice": words} if outcome == 200 else {"problems": {"form": words}}


def case_actions(who: Identity, case: Case, district: District) -> dict[str, Any]:
    """What the case page needs to offer a supervisor 督办, 延期 and 改派 for this case."""
    street = district.street_by_code.get(case.street_code or "") or district.streets[0]
    targets = district.communities if who.role == "command_center" else street.communities
    stage = {"dispatched": "accept", "claimed": "respond"}.get(case.status)
    return {"actions_street": street, "targets": targets, "extend_by": EXTEND_BY, "stage": stage}


def _street_shown(who: Identity, asked: str, streets: list[Street], by_code: dict[str, Street]) -> Street:
    if who.role == "supervisor" and who.unit in by_code:
        return by_code[who.unit]
    return by_code.get(asked) or streets[0]


def _league_order(line: BranchLine) -> tuple[float, float, float, str]:
    """Best on-time accepting first, then on-time responding, then satisfaction."""
    return (-(line.accept_rate or 0.0), -(line.respond_rate or 0.0), -(line.satisfaction_rate or 0.0),
            line.branch_code)
