"""The SLA report: per-branch rates from case outcome rows; pure, no I/O.

Each case counts once, under the branch it is with now (a case waiting in a street's
queue counts under "-"). Of a branch's cases:

- dispatched: cases dispatched to a branch at least once;
- 响应率 (accept rate) = cases claimed and never accept-breached ÷ dispatched;
- 1h响应率 (on-time respond rate) = cases responded and never respond-breached ÷ dispatched;
- 解决率 (resolution rate) = cases a member resolved ÷ dispatched;
- 满意率 (satisfaction rate) = cases whose latest rating was satisfied ÷ cases rated.

A breach is the one the claim service confirmed (SlaBreached), so "on time" means
within the deadline of the case's SLA policy. A rate with nothing to divide by is "-".
"""

import csv
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

UNROUTED = "-"
TOTAL = "合计"
PERIODS: dict[str, tuple[str, timedelta | None]] = {
    "7d": ("近7天", timedelta(days=7)), "30d": ("近30天", timedelta(days=30)), "all": ("全部", None)}
"""The periods supervisors compare (cases registered within them), on their pages and in Grafana."""
MEASURES = ("cases", "dispatched", "accepted_on_time", "responded_on_time", "resolved", "rated", "satisfied")
"""A branch's counts the rates divide, as BranchLine names them."""


@dataclass(frozen=True)
class CaseOutcomeRow:
    branch_code: str | None
    first_dispatched_at: datetime | None
    seconds_to_accept: float | None
    accept_breached: bool
    seconds_to_respond: float | None
    respond_breached: bool
    resolved: bool
    satisfied: bool | None


@dataclass
class BranchLine:
    branch_code: str
    branch_name: str
    cases: int = 0
    dispatched: int = 0
    accepted_on_time: int = 0
    responded_on_time: int = 0
    resolved: int = 0
    rated: int = 0
    satisfied: int = 0

    def add(self, row: CaseOutcomeRow) -> None:
        self.cases += 1
        if row.first_dispatched_at is None:
            return
        self.dispatched += 1
        self.accepted_on_time += row.seconds_to_accept is not None and not row.accept_breached
        self.responded_on_time += row.seconds_to_respond is not None and not row.respond_breached
        self.resolved += row.resolved
        if row.satisfied is not None:
            self.rated += 1
            self.satisfied += row.satisfied

    @property
    def accept_rate(self) -> float | None:
        return _ratio(self.accepted_on_time, self.dispatched)

    @property
    def respond_rate(self) -> float | None:
        return _ratio(self.responded_on_time, self.dispatched)

    @property
    def resolution_rate(self) -> float | None:
        return _ratio(self.resolved, self.dispatched)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.rated)


@dataclass
class Report:
    lines: list[BranchLine] = field(default_factory=list)
    total: BranchLine = field(default_factory=lambda: BranchLine(TOTAL, ""))


def build_report(rows: Iterable[CaseOutcomeRow], branch_names: dict[str, str]) -> Report:
    by_branch: dict[str, BranchLine] = {}
    report = Report()
    for row in rows:
        code = row.branch_code or UNROUTED
        line = by_branch.setdefault(code, BranchLine(code, branch_names.get(code, "")))
        line.add(row)
        report.total.add(row)
    report.lines = sorted(by_branch.values(), key=lambda line: (line.branch_code == UNROUTED, line.branch_code))
    return report


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


HEADERS = ("支部代码", "支部", "案件数", "响应率", "1h响应率", "解决率", "满意率")
CSV_HEADERS = ("branch_code", "branch_name", "cases", "dispatched", "accepted_on_time", "responded_on_time",
               "resolved", "rated", "satisfied", "accept_rate", "respond_rate", "resolution_rate",
               "satisfaction_rate")


def _cells(line: BranchLine) -> tuple[str, ...]:
    return (line.branch_code, line.branch_name, str(line.cases), percent(line.accept_rate),
            percent(line.respond_rate), percent(line.resolution_rate), percent(line.satisfaction_rate))


def render_table(report: Report) -> str:
    rows = [HEADERS, *(_cells(line) for line in [*report.lines, report.total])]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(HEADERS))]
    numeric = range(2, len(HEADERS))
    out = []
    for row in rows:
        cells = [_rjust(cell, widths[i]) if i in numeric else _ljust(cell, widths[i]) for i, cell in enumerate(row)]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADERS)
    for line in [*report.lines, report.total]:
        writer.writerow((line.branch_code, line.branch_name, line.cases, line.dispatched, line.accepted_on_time,
                         line.responded_on_time, line.resolved, line.rated, line.satisfied,
                         *(_csv_rate(rate) for rate in (line.accept_rate, line.respond_rate,
                                                         line.resolution_rate, line.satisfaction_rate))))
    return buffer.getvalue()


def _csv_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _rjust(text: str, width: int) -> str:
    return " " * (width - _width(text)) + text
