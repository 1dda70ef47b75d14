"""The alert rules in deploy/prometheus-rules.yml: promtool accepts them and the Prometheus
configuration that loads them, their unit tests (deploy/prometheus-rules.test.yml) pass, and
fail again once any one alert is made never to fire, or to fire whenever it is quiet, so every
alert has a test that needs it and one that needs it silent."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_dashboards import problems_with_metrics

DEPLOY = Path(__file__).parents[2] / "deploy"
RULES = DEPLOY / "prometheus-rules.yml"
RULE_TESTS = DEPLOY / "prometheus-rules.test.yml"
CONFIG = DEPLOY / "prometheus.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not on PATH (Debian package prometheus)")
SERVICE_JOBS = ["intake", "dispatch", "claim", "sla", "feedback"]


def alerts() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"] for rule in group["rules"]]


ALERT_NAMES = [rule["alert"] for rule in alerts()]


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=60)


def with_rules_changed(tmp_path: Path, alert: str, change: str) -> Path:
    """A copy of the rules and their tests in which one alert's expression is `change` with
    `{expr}` standing for the original."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for rule in (rule for group in rules["groups"] for rule in group["rules"] if rule.get("alert") == alert):
        rule["expr"] = change.format(expr=rule["expr"])
    (tmp_path / RULES.name).write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return Path(shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name))


@needs_promtool
def test_promtool_accepts_the_rules():
    result = promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_config_with_its_rules(tmp_path):
    """The config names the rules by their path in the container; here, by the copy's."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["rule_files"] = [str(shutil.copy(RULES, tmp_path / "appeal.yml"))]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = promtool("check", "config", tmp_path / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout + result.stderr


def test_the_config_scrapes_each_service_as_a_job_of_its_name():
    jobs = [job["job_name"] for job in yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["scrape_configs"]]
    assert [job for job in jobs if job != "prometheus"] == SERVICE_JOBS


@needs_promtool
def test_the_unit_tests_of_the_rules_pass():
    result = promtool("test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
@pytest.mark.parametrize("alert", ALERT_NAMES)
@pytest.mark.parametrize(("broken", "needed"), [("({expr}) unless on () vector(1)", "to fire"),
                                                ("({expr}) or on () vector(1)", "to stay quiet")],
                         ids=["never-fires", "always-fires"])
def test_a_unit_test_fails_when_the_alert_is_broken(tmp_path, alert, broken, needed):
    result = promtool("test", "rules", with_rules_changed(tmp_path, alert, broken))
    assert result.returncode != 0, f"no test needs {alert} {needed}"
    assert f"alertname: {alert}" in result.stdout + result.stderr


def test_every_alert_has_a_severity_a_summary_in_both_languages_and_a_runbook_section():
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for rule in alerts():
        name, annotations = rule["alert"], rule["annotations"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["labels"]["audience"] in {"supervisor", "operator"}, name
        assert re.search(r"[\u4e00-\u9fff].*\([A-Za-z][^)]*\)\s*$", annotations["summary"]), name
        assert annotations["runbook"] == f"deploy/README.md#{name.lower()}", name
        assert re.search(rf"^### {name}$", readme, re.M), f"deploy/README.md has no section ### {name}"


def test_the_alerts_watch_the_service_jobs_and_appeal_dev():
    down = next(rule for rule in alerts() if rule["alert"] == "AppealServiceDown")
    assert f'job=~"{"|".join([*SERVICE_JOBS, "appeal"])}"' in down["expr"]


def test_every_alert_asks_for_metrics_and_labels_of_the_spec():
    found = [f"{rule['alert']}: {problem}" for rule in alerts() for problem in problems_with_metrics(rule["expr"])]
    assert not found, "\n".join(found)
