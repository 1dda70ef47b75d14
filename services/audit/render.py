"""An audit report as `appeal audit` prints it: a table with one row per check and its
first few findings, a one-line summary, or JSON. Pure. Stored text in a finding (an
external id, a branch code) is escaped so it cannot break the table or the terminal."""

import json
from typing import Any

from services.audit.checks import RULES, AuditReport, Check, Finding
from services.dlq_table import one_line

EXAMPLES = 3
HEADERS = ("CHECK", "RESULT", "RULE")
PROBLEM_COLUMNS = 200


def render_table(report: AuditReport, examples: int = EXAMPLES) -> str:
    rows = [(check.value, _result(len(report.of(check))), RULES[check]) for check in Check]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(2)]
    lines = []
    for check, row in zip([None, *Check], [HEADERS, *rows], strict=True):
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}")
        found = report.of(check) if check else []
        lines.extend(f"    {_example(finding)}" for finding in found[:examples])
        if len(found) > examples:
            lines.append(f"    … and {len(found) - examples} more")
    return "\n".join(lines) + "\n"


def summary(report: AuditReport) -> str:
    scope = (f"{report.cases} {'case' if report.cases == 1 else 'cases'}, {report.settling} still settling "
             f"(changed in the last {report.settle_seconds:g} s)")
    if report.ok:
        return f"audit clean: {len(Check)} checks passed; {scope}."
    failed = sum(1 for check in Check if report.of(check))
    count = len(report.findings)
    return (f"audit failed: {count} {'violation' if count == 1 else 'violations'} in {failed} of {len(Check)} checks; "
            f"{scope}.")


def to_json(report: AuditReport) -> str:
    document: dict[str, Any] = {
        "ok": report.ok, "checked_at": report.checked_at.isoformat(), "settle_seconds": report.settle_seconds,
        "cases": report.cases, "settling": report.settling, "violations": len(report.findings),
        "checks": [{"check": check.value, "rule": RULES[check], "violations": len(report.of(check)),
                    "findings": [{"service": f.service, "case_id": f.case_id, "problem": f.problem}
                                 for f in report.of(check)]}
                   for check in Check],
    }
    return json.dumps(document, ensure_ascii=False)


def _result(violations: int) -> str:
    if not violations:
        return "ok"
    return f"{violations} {'violation' if violations == 1 else 'violations'}"


def _example(finding: Finding) -> str:
    return f"{finding.service:<8}  {finding.case_id or '-':<36}  {one_line(finding.problem, PROBLEM_COLUMNS)}"
