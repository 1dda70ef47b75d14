"""What supervisors see in Grafana, checked on a real Prometheus scraping `appeal dev
--simulate` on SLA terms of seconds: every dashboard query and alert rule evaluates,
every panel has data, and the 三率 from PromQL are the report's, case for case."""

import csv
import io
import json
import math
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from shared.embedded import free_port
from tests.e2e.prometheus import Prometheus, prometheus_scraping
from tests.e2e.test_cli import APPEAL, _clean_env, _wait_for_line, appeal, stop_with_ctrl_c
from tests.integration.harness import district_file

pytestmark = pytest.mark.e2e
DASHBOARDS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards").glob("*.json"))
GRAFANA_VARIABLES = {"__range": "10m", "__rate_interval": "1m", "__interval": "15s", "__range_s": "600"}
RATES = {"accept_rate": ("accepted_on_time", "dispatched"), "respond_rate": ("responded_on_time", "dispatched"),
         "resolution_rate": ("resolved", "dispatched"), "satisfaction_rate": ("satisfied", "rated")}
"""The report's CSV columns and the appeal_case_outcomes measures each divides."""
RATE_PANELS = {"响应率 (on-time accept rate)": "accept_rate", "1h响应率 (on-time respond rate)": "respond_rate",
               "解决率 (resolution rate)": "resolution_rate", "满意率 (satisfaction rate)": "satisfaction_rate"}
"""The SLA overview's stat panels of the district's rates."""


@contextmanager
def appeal_dev(*args: str) -> Iterator[None]:
    process = subprocess.Popen([*APPEAL, "dev", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=_clean_env())
    try:
        _wait_for_line(process, r"ready\s+http", 90, [])
        yield
    finally:
        stop_with_ctrl_c(process)


def test_grafana_shows_what_the_report_says(tmp_path: Path):
    port = free_port()
    district = district_file(tmp_path, accept="3s", respond="8s")
    args = ("--port", str(port), "--data-dir", str(tmp_path / "data"), "--district", str(district))
    with prometheus_scraping(f"127.0.0.1:{port}", tmp_path) as prometheus:
        with appeal_dev(*args, "--simulate", "5"):
            for counter in ("appeal_sla_breaches_total", "appeal_cases_closed_total", "appeal_cases_escalated_total"):
                prometheus.wait_for(f"sum({counter})", lambda seen: seen > 0, timeout=150)
            prometheus.wait_for("sum(appeal_case_outcomes{measure='rated'})", lambda seen: seen > 0, timeout=60)
            every_panel_has_data(prometheus)
            every_rule_evaluates(prometheus)
        # Without the simulator the loop settles: the last timers fire, the last events land.
        with appeal_dev(*args):
            prometheus.wait_for("max(appeal_sla_timers_pending)", lambda pending: pending == 0, timeout=120)
            the_rates_are_the_reports(prometheus, district)


def panel_queries(**chosen: str) -> Iterator[tuple[str, str, str]]:
    """(dashboard, panel, expression) of every query, Grafana's variables filled in as
    chosen, else as "All" and the current option of each custom variable."""
    assert DASHBOARDS, "no dashboards in deploy/grafana/dashboards"
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        values = {**GRAFANA_VARIABLES, **{v["name"]: _all_or_first(v) for v in dashboard["templating"]["list"]},
                  **chosen}
        for panel in _panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                if expr := target.get("expr"):
                    yield path.name, panel["title"], _fill(expr, values)


def every_panel_has_data(prometheus: Prometheus) -> None:
    empty = [f"{dashboard} / {panel}: {expr}" for dashboard, panel, expr in panel_queries()
             if not prometheus.query(expr)]
    assert not empty, "panels without data:\n" + "\n".join(empty)


def every_rule_evaluates(prometheus: Prometheus) -> None:
    rules = prometheus.rules()
    assert rules, "no alert rules loaded"
    broken = [f"{rule['name']}: {rule.get('lastError')}" for rule in rules if rule.get("health") == "err"]
    assert not broken, "\n".join(broken)


def the_rates_are_the_reports(prometheus: Prometheus, district: Path) -> None:
    """Polled until they agree: the gauges are read every 15 s, and a mismatch that never
    goes away is a different definition."""
    deadline = time.monotonic() + 90
    panels = {RATE_PANELS[title]: expr for _, title, expr in panel_queries(period="all") if title in RATE_PANELS}
    assert len(panels) == len(RATES), f"rate panels not found: {sorted(panels)}"
    while True:
        report = _report(district)
        differences = [f"{period} {branch or '合计'} {rate}: PromQL {shown}, report {expected}"
                       for period in ("7d", "30d", "all") for branch, rates in report.items()
                       for rate, expected in rates.items()
                       if (shown := _percent(prometheus, period, branch, rate)) != expected]
        differences += [f"dashboard panel {rate}: {shown}, report {report[''][rate]}" for rate, expr in panels.items()
                        if (shown := _as_printed(prometheus.value(expr))) != report[""][rate]]
        if not differences or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert not differences, "\n".join(differences)
    assert any(rates["satisfaction_rate"] not in ("-", "100.0") or rates["accept_rate"] not in ("-", "100.0")
               for rates in report.values()), f"nothing to tell apart: {report}"


def _report(district: Path) -> dict[str, dict[str, str]]:
    env = {"APPEAL_DISTRICT_FILE": str(district)}
    result = appeal("report", "--data-dir", str(district.parent / "data"), "--csv", env=env)
    assert result.returncode == 0, result.stderr
    return {("" if row["branch_code"] == "合计" else "none" if row["branch_code"] == "-" else row["branch_code"]):
            {rate: row[rate] for rate in RATES} for row in csv.DictReader(io.StringIO(result.stdout))}


def _percent(prometheus: Prometheus, period: str, branch: str, rate: str) -> str:
    """A rate as the report prints it; every replica reads the same database, so the max over instances."""
    part, whole = RATES[rate]
    match = f'branch="{branch}"' if branch else 'branch=~".*"'

    def counted(measure: str) -> str:
        return f'sum(max by (street, branch) (appeal_case_outcomes{{period="{period}",measure="{measure}",{match}}}))'

    return _as_printed(prometheus.value(f"{counted(part)} / {counted(whole)}"))


def _as_printed(rate: float | None) -> str:
    return "-" if rate is None or math.isnan(rate) else f"{rate * 100:.1f}"


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _all_or_first(variable: dict[str, Any]) -> str:
    if variable.get("type") in ("query", "datasource") or variable.get("includeAll"):
        return ".*"
    options = variable.get("options") or []
    current = (variable.get("current") or {}).get("value")
    return str(current if current not in (None, "", []) else options[0]["value"])


def _fill(expr: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"unknown variable ${name} in {expr}"
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)
