from services.intake.report import CaseOutcomeRow, build_report, percent, render_csv, render_table
from tests.unit.factories import T0

NAMES = {"B0101": "三坊七巷社区党支部", "B0102": "虎节社区党支部"}


def row(branch="B0101", *, dispatched=True, accept=None, accept_breached=False, respond=None,
        respond_breached=False, resolved=False, satisfied=None) -> CaseOutcomeRow:
    return CaseOutcomeRow(branch_code=branch, first_dispatched_at=T0 if dispatched else None,
                          seconds_to_accept=accept, accept_breached=accept_breached, seconds_to_respond=respond,
                          respond_breached=respond_breached, resolved=resolved, satisfied=satisfied)


ROWS = [
    # B0101: 4 cases, all dispatched.
    row(accept=120, respond=900, resolved=True, satisfied=True),
    row(accept=300, respond=4000, respond_breached=True, resolved=True, satisfied=False),
    row(accept=700, accept_breached=True, respond=1000, resolved=True, satisfied=True),
    row(accept_breached=True),
    # B0102: 1 case, claimed and responded in time, not rated yet.
    row("B0102", accept=60, respond=600),
    # Waiting in a street's queue; never reached a branch.
    row(None, dispatched=False),
]


def test_rates_per_branch_by_hand():
    report = build_report(ROWS, NAMES)
    first, second, unrouted = report.lines
    assert (first.branch_code, first.branch_name) == ("B0101", "三坊七巷社区党支部")
    assert (first.cases, first.dispatched) == (4, 4)
    assert first.accept_rate == 2 / 4       # claimed without an accept breach: cases 1 and 2
    assert first.respond_rate == 2 / 4      # responded without a respond breach: cases 1 and 3
    assert first.resolution_rate == 3 / 4
    assert first.satisfaction_rate == 2 / 3  # of the three rated
    assert (second.accept_rate, second.respond_rate, second.resolution_rate) == (1, 1, 0)
    assert second.satisfaction_rate is None
    assert (unrouted.branch_code, unrouted.cases, unrouted.dispatched) == ("-", 1, 0)
    assert unrouted.accept_rate is None


def test_the_total_row_adds_up_every_case():
    total = build_report(ROWS, NAMES).total
    assert (total.cases, total.dispatched, total.accepted_on_time, total.responded_on_time) == (6, 5, 3, 3)
    assert total.accept_rate == 3 / 5 and total.resolution_rate == 3 / 5 and total.satisfaction_rate == 2 / 3


def test_a_zero_denominator_prints_as_a_dash():
    assert percent(None) == "-"
    assert percent(2 / 3) == "66.7%"
    assert percent(1) == "100.0%"


def test_the_table_is_aligned_and_ends_with_the_total():
    lines = render_table(build_report(ROWS, NAMES)).splitlines()
    assert lines[0].split() == ["支部代码", "支部", "案件数", "响应率", "1h响应率", "解决率", "满意率"]
    assert lines[1].split() == ["B0101", "三坊七巷社区党支部", "4", "50.0%", "50.0%", "75.0%", "66.7%"]
    assert lines[3].split() == ["-", "1", "-", "-", "-", "-"]
    assert lines[-1].split() == ["合计", "6", "60.0%", "60.0%", "60.0%", "66.7%"]
    ends = {len(line.encode("gbk")) for line in lines[:3]}
    assert len(ends) == 1, "CJK-aware padding lines up the right-aligned rate columns"


def test_csv_has_a_header_and_one_row_per_branch_plus_the_total():
    text = render_csv(build_report(ROWS, NAMES))
    header, *body = text.splitlines()
    assert header.startswith("branch_code,branch_name,cases,dispatched,")
    assert body[0] == "B0101,三坊七巷社区党支部,4,4,2,2,3,3,2,50.0,50.0,75.0,66.7"
    assert body[-1] == "合计,,6,5,3,3,3,3,2,60.0,60.0,60.0,66.7"


def test_an_empty_report_has_only_the_total():
    report = build_report([], NAMES)
    assert report.lines == [] and report.total.cases == 0 and report.total.accept_rate is None
    assert render_csv(report).splitlines()[1] == "合计,,0,0,0,0,0,0,0,-,-,-,-"


def test_undispatched_cases_count_as_cases_but_not_in_any_rate():
    report = build_report([row(dispatched=False, accept=10, resolved=True, satisfied=True),
                           row(accept=10, respond=10, resolved=True, satisfied=True)], NAMES)
    line = report.lines[0]
    assert (line.cases, line.dispatched, line.accept_rate, line.satisfaction_rate) == (2, 1, 1, 1)
