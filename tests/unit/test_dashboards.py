"""The Grafana dashboards in deploy/grafana/dashboards/ are what deploy/grafana/dashboards.py
writes, and every query in them parses as PromQL (promtool, each expression a recording rule
in a group named after its panel) and asks only for metrics and labels the services export.

SPEC_METRICS is the fixed list of metric names and labels the dashboards and alerts are built
on; test_alert_rules.py checks the alert rules against it too."""

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
GENERATOR = ROOT / "deploy" / "grafana" / "dashboards.py"
DASHBOARD_DIR = ROOT / "deploy" / "grafana" / "dashboards"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not on PATH (Debian package prometheus)")

SPEC_METRICS: dict[str, set[str]] = {
    "appeal_cases_received_total": {"source", "category"},
    "appeal_cases_dispatched_total": {"branch"},
    "appeal_cases_escalated_total": {"street"},
    "appeal_cases_reassigned_total": {"branch"},
    "appeal_accept_seconds": {"branch"},
    "appeal_respond_seconds": {"branch"},
    "appeal_task_moves_total": {"move", "outcome"},
    "appeal_sla_breaches_total": {"stage", "branch"},
    "appeal_urges_total": {"branch"},
    "appeal_sla_deadlines_reached_total": {"stage", "branch"},
    "appeal_sla_warnings_total": {"stage", "branch"},
    "appeal_sla_timer_lag_seconds": set(),
    "appeal_sla_timers_pending": set(),
    "appeal_sla_timers_overdue": set(),
    "appeal_sla_last_poll_timestamp_seconds": set(),
    "appeal_sla_last_audit_timestamp_seconds": set(),
    "appeal_feedback_total": {"branch", "satisfied"},
    "appeal_member_evaluations_total": {"branch"},
    "appeal_open_cases": {"branch", "status"},
    "appeal_dead_letters_total": {"service", "topic"},
    "appeal_redeliveries_total": {"service", "topic"},
    "appeal_consumer_stuck": {"service", "topic"},
    "appeal_case_outcomes": {"period", "street", "branch", "measure"},
    "appeal_branch_info": {"branch", "branch_name", "community", "community_name", "street", "street_name"},
    "appeal_cases_breaching_soon": {"stage", "branch"},
    "appeal_cases_overdue": {"stage", "branch"},
    "appeal_street_queue": {"street"},
    "appeal_open_cases_by_age": {"branch", "age"},
    "appeal_cases_closed_total": {"branch"},
    "appeal_consumer_lag_messages": {"group", "topic"},
    "appeal_consumed_messages_total": {"group", "topic"},
    "appeal_published_messages_total": {"service", "topic"},
    "appeal_outbox_pending": {"service"},
    "appeal_outbox_oldest_seconds": {"service"},
    "appeal_outbox_publish_failures_total": {"service"},
    "appeal_projects_published_total": {"street"},
    "appeal_project_slots_claimed_total": {"branch"},
    "appeal_project_withdrawals_total": {"branch", "late"},
    "appeal_project_completions_total": {"branch"},
    "appeal_points_credited_total": {"branch", "reason"},
    "appeal_project_evaluations_total": {"side"},
    "up": set(),
}
HISTOGRAMS = {"appeal_accept_seconds", "appeal_respond_seconds", "appeal_sla_timer_lag_seconds"}
LABEL_VALUES = {
    "period": {"7d", "30d", "all"},
    "measure": {"cases", "dispatched", "accepted_on_time", "responded_on_time", "resolved", "rated", "satisfied"},
    "stage": {"accept", "respond"},
    "age": {"0-10m", "10m-1h", "1h-1d", "1d-7d", "7d+"},
    "source": {"hotline", "grid"},
    "satisfied": {"true", "false"},
    "late": {"true", "false"},
    "reason": {"completion", "good_evaluation", "late_withdrawal"},
    "side": {"resident", "member"},
}
DATABASE_GAUGES = {"appeal_sla_timers_pending", "appeal_sla_timers_overdue", "appeal_sla_last_poll_timestamp_seconds",
                   "appeal_open_cases", "appeal_case_outcomes", "appeal_branch_info", "appeal_cases_breaching_soon",
                   "appeal_cases_overdue", "appeal_street_queue", "appeal_open_cases_by_age", "appeal_outbox_pending",
                   "appeal_outbox_oldest_seconds"}
"""The same value on every replica (read from a database, or the latest of the replicas): max, never a sum."""
TARGET_LABELS = {"job", "instance"}

GRAFANA_VALUES = {"branch": "B0101", "street": "S01", "period": "30d", "datasource": "prometheus",
                  "__range": "1d", "__rate_interval": "1m", "__interval": "1m"}
GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
SELECTOR = re.compile(r"\b([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")')
LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
            "inf", "nan"}


def concrete(expr: str, chosen: dict[str, str] | None = None) -> str:
    """The expression as Grafana sends it, with sample values (or the chosen ones) for the variables."""
    values = GRAFANA_VALUES | (chosen or {})

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"unknown Grafana variable ${name} in {expr}"
        return values[name]
    return GRAFANA_VARIABLE.sub(value, expr)


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression selects: what is left once strings, label lists,
    matchers, ranges, function calls, keywords and numbers are taken out."""
    text = LABEL_LIST.sub(" ", STRING.sub('""', expr))
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    names = {match.group(1) for match in re.finditer(r"\b([a-zA-Z_:][\w:]*)\b(?!\s*\()", text)}
    return {name for name in names - KEYWORDS if not re.fullmatch(r"\d\w*|e\d+", name)}


def spec_name(name: str) -> str:
    base = re.sub(r"_(bucket|count|sum)$", "", name)
    return base if base in HISTOGRAMS else name


def selectors(expr: str) -> list[tuple[str, str]]:
    """(metric, matchers) of every series selector in an expression, bare names included."""
    names = metric_names(expr)
    masked = STRING.sub(lambda m: "_" * len(m.group()), expr)
    return [(m.group(1), expr[m.start(2) + 1:m.end(2) - 1] if m.group(2) else "")
            for m in SELECTOR.finditer(masked) if m.group(1) in names]


def problems_with_metrics(expr: str) -> list[str]:
    """What in an expression the metrics spec does not name: metrics, labels, label values;
    and database gauges summed without max first."""
    found = [f"{name}: not a metric of the spec" for name in sorted(metric_names(expr))
             if spec_name(name) not in SPEC_METRICS]
    for name, matchers in selectors(expr):
        labels = SPEC_METRICS.get(spec_name(name), set()) | TARGET_LABELS
        labels |= {"le"} if name.endswith("_bucket") else set()
        for label, op, quoted in MATCHER.findall(matchers):
            if label not in labels:
                found.append(f"{name}: no label {label}")
            elif op == "=" and label in LABEL_VALUES and "$" not in quoted \
                    and quoted.strip('"') not in LABEL_VALUES[label]:
                found.append(f"{name}: {label} is never {quoted}")
    for gauge in sorted(DATABASE_GAUGES):
        for match in re.finditer(rf"\b{gauge}\b", expr):
            if not re.search(r"\bmax(?:\s+by\s*\([^)]*\))?\s*\(\s*$", expr[:match.start()]):
                found.append(f"{gauge}: a database gauge, to be taken with max by (...) first")
    return found


def promtool_check(tmp_path: Path, named: list[tuple[str, str]]) -> subprocess.CompletedProcess[str]:
    """promtool check rules on the expressions as recording rules, each in a group named
    after where it comes from, so an error names the panel."""
    assert PROMTOOL
    groups = [{"name": where, "rules": [{"record": "dashboard:query", "expr": concrete(expr)}]}
              for where, expr in named]
    rules = tmp_path / "queries.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}, allow_unicode=True), encoding="utf-8")
    return subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARD_DIR.glob("*.json"))]


def panels_of(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield from panels_of(panel) if panel["type"] == "row" else [panel]


def queries() -> Iterator[tuple[str, str]]:
    """(where, expression) of every panel target and every query variable."""
    for board in dashboards():
        for panel in panels_of(board):
            for target in panel.get("targets", []):
                yield f"{board['title']} / {panel['id']} {panel['title']} / {target['refId']}", target["expr"]
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                inner = re.fullmatch(r"(?:query_result|label_values)\((.*?)(?:,\s*\w+)?\)", variable["query"], re.S)
                assert inner, f"{board['title']}: variable {variable['name']}: {variable['query']}"
                yield f"{board['title']} / variable {variable['name']}", inner.group(1)


def all_panels() -> list[tuple[str, dict[str, Any]]]:
    return [(board["uid"], panel) for board in dashboards() for panel in panels_of(board)]


def test_the_committed_dashboards_are_what_the_generator_writes():
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_check_names_a_stale_file_and_one_the_generator_does_not_write(tmp_path):
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)], check=True, timeout=120)
    sla = tmp_path / "appeal-sla.json"
    sla.write_text(sla.read_text(encoding="utf-8").replace("响应率", "应答率"), encoding="utf-8")
    (tmp_path / "appeal-loop.json").write_text("{}", encoding="utf-8")
    result = subprocess.run([sys.executable, str(GENERATOR), "--check", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"{sla}: stale" in result.stderr
    assert "appeal-loop.json: not written by" in result.stderr
    assert "appeal-system.json" not in result.stderr


def test_there_are_the_two_dashboards_grafana_is_told_to_open():
    assert {board["uid"] for board in dashboards()} == {"appeal-sla", "appeal-system"}
    compose = (ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8")
    home = re.search(r"GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: /etc/grafana/dashboards/(\S+)", compose)
    assert home and (DASHBOARD_DIR / home.group(1)).exists()


@pytest.mark.parametrize("panel", [panel for _, panel in all_panels()],
                         ids=[f"{uid}:{panel['id']}" for uid, panel in all_panels()])
def test_every_panel_has_a_title_a_datasource_and_a_query(panel):
    assert panel.get("title")
    assert panel.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}
    assert panel.get("targets")
    assert all(target.get("expr") for target in panel["targets"])


def test_every_dashboard_picks_its_prometheus_by_a_variable():
    for board in dashboards():
        variables = {variable["name"]: variable for variable in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"


@needs_promtool
def test_every_query_parses_as_promql(tmp_path):
    result = promtool_check(tmp_path, list(queries()))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_a_query_that_does_not_parse_is_named_by_its_panel(tmp_path):
    where = "诉求时效总览 (SLA overview) / 2 响应率 (on-time accept rate) / A"
    result = promtool_check(tmp_path, [*queries(), (where, 'sum(appeal_case_outcomes{branch=~"$branch"}')])
    assert result.returncode != 0
    assert f'group "{where}", rule 1' in result.stdout + result.stderr


def test_an_unknown_grafana_variable_is_an_error():
    with pytest.raises(AssertionError, match=r"unknown Grafana variable \$brnach"):
        concrete('sum(appeal_case_outcomes{branch=~"$brnach"})')


def test_every_query_asks_for_metrics_and_labels_of_the_spec():
    found = [f"{where}: {problem}" for where, expr in queries() for problem in problems_with_metrics(expr)]
    assert not found, "\n".join(found)


def test_the_metrics_check_finds_what_the_spec_lacks():
    assert problems_with_metrics('sum(rate(appeal_cases_escalated_total{branch="B0101"}[5m]))') == [
        "appeal_cases_escalated_total: no label branch"]
    assert problems_with_metrics('sum(appeal_case_outcomes{measure="accepted"})') == [
        'appeal_case_outcomes: measure is never "accepted"',
        "appeal_case_outcomes: a database gauge, to be taken with max by (...) first"]
    assert problems_with_metrics("sum by (job) (process_open_fds) / max(appeal_sla_timers_overdue)") == [
        "process_open_fds: not a metric of the spec"]
    assert problems_with_metrics(
        'histogram_quantile(0.99, sum by (le) (rate(appeal_sla_timer_lag_seconds_bucket{le="+Inf"}[5m])))') == []


def test_every_branch_labelled_query_follows_the_branch_variable():
    found = [f"{where}: {name}{{{matchers}}}" for where, expr in queries() if where.startswith("诉求时效总览")
             for name, matchers in selectors(expr)
             if "branch" in SPEC_METRICS[spec_name(name)] and name != "appeal_branch_info"
             and 'branch=~"$branch"' not in matchers]
    assert not found, "\n".join(found)


def panel_query(title: str, ref: str = "A") -> str:
    panel = next(panel for board in dashboards() for panel in panels_of(board) if panel["title"].startswith(title))
    return next(target["expr"] for target in panel["targets"] if target["refId"] == ref)


def variable_query(name: str) -> str:
    return next(inner for where, inner in queries() if where.endswith(f"variable {name}"))


def branch_series(branch: str, name: str, street: str, street_name: str) -> list[dict[str, str]]:
    labels = f'branch="{branch}",branch_name="{name}",community="C{branch[1:]}",street="{street}",' \
             f'street_name="{street_name}"'
    return [{"series": f'appeal_branch_info{{job="intake",instance="intake-{i}:8000",{labels}}}', "values": "1x5"}
            for i in (1, 2)]


def outcome_series(street: str, branch: str, dispatched: int, accepted: int) -> list[dict[str, str]]:
    return [{"series": f'appeal_case_outcomes{{job="intake",instance="intake-{i}:8000",period="30d",'
                       f'street="{street}",branch="{branch}",measure="{measure}"}}', "values": f"{count}x5"}
            for i in (1, 2) for measure, count in (("dispatched", dispatched), ("accepted_on_time", accepted))]


SAMPLE_DISTRICT = [
    *branch_series("B0101", "三坊七巷社区党支部", "S01", "鼓东街道"), *outcome_series("S01", "B0101", 10, 8),
    *branch_series("B0102", "虎节社区党支部", "S01", "鼓东街道"), *outcome_series("S01", "B0102", 10, 6),
    *branch_series("B0201", "西湖社区党支部", "S02", "鼓西街道"), *outcome_series("S02", "B0201", 4, 3),
    *outcome_series("S01", "none", 12, 0), *outcome_series("S02", "none", 4, 0),
]
"""Two intake replicas reporting the same database: a sum without max first would double
everything. Each street's queue holds cases dispatched before and escalated since."""
EVERYWHERE = {"street": ".*", "branch": "(B0101|B0102|B0201|none)"}
STREET_S01 = {"street": "S01", "branch": "(B0101|B0102|none)"}


@needs_promtool
def test_the_counts_and_rates_are_appeal_reports_whatever_the_replicas(tmp_path):
    """派单 and 响应率 of the district, per street and per branch, and the branch choices,
    computed by Prometheus (promtool test rules) from the panels' own queries over a sample
    district that two intake replicas report."""
    def sample(value: float, **labels: str) -> dict[str, Any]:
        return {"labels": "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "value": value}

    expectations = [
        (panel_query("派单"), EVERYWHERE, [sample(40)]),
        (panel_query("响应率"), EVERYWHERE, [sample(17 / 40)]),
        (panel_query("响应率"), STREET_S01, [sample(14 / 32)]),
        (panel_query("各街道"), EVERYWHERE, [sample(14 / 32, street="S01", street_name="鼓东街道"),
                                             sample(3 / 8, street="S02", street_name="鼓西街道")]),
        (panel_query("支部排行"), STREET_S01, [
            sample(8 / 10, street="S01", branch="B0101", branch_name="三坊七巷社区党支部"),
            sample(6 / 10, street="S01", branch="B0102", branch_name="虎节社区党支部")]),
        (variable_query("branch"), STREET_S01, [
            sample(1, branch="B0101", branch_name="三坊七巷社区党支部"),
            sample(1, branch="B0102", branch_name="虎节社区党支部"),
            sample(1, branch="none", branch_name="街道队列 (none: in a street queue)")]),
        (variable_query("branch"), {"street": ".*"}, [
            sample(1, branch="B0101", branch_name="三坊七巷社区党支部"),
            sample(1, branch="B0102", branch_name="虎节社区党支部"),
            sample(1, branch="B0201", branch_name="西湖社区党支部"),
            sample(1, branch="none", branch_name="街道队列 (none: in a street queue)")]),
    ]
    tests = {"rule_files": [], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": SAMPLE_DISTRICT,
        "promql_expr_test": [{"expr": concrete(expr, chosen), "eval_time": "2m", "exp_samples": samples}
                             for expr, chosen, samples in expectations]}]}
    path = tmp_path / "rates.test.yml"
    path.write_text(yaml.safe_dump(tests, allow_unicode=True), encoding="utf-8")
    result = subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
