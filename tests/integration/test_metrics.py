"""What /metrics shows of a running system: every labelled series the district names
exists at zero before anything happens (so ``increase()`` counts a branch's first
breach), and records consumed, events published and consumer lag follow a case."""

from prometheus_client.parser import text_string_to_metric_families

from services.intake.report import MEASURES, PERIODS
from shared import topics
from shared.events import SlaStage
from tests.integration.harness import Running, running_system, settings_for
from tests.unit.factories import sample_district
from tests.unit.test_dashboards import HISTOGRAMS, SPEC_METRICS

SERVICES_CONSUMING = {"intake": topics.INBOUND_TOPICS, "dispatch": (topics.CASE_REGISTERED,),
                      "claim": (topics.CASE_DISPATCH,), "sla": (topics.CASE_DISPATCH,),
                      "feedback": (topics.TASK_EVENTS,)}


async def samples(run: Running) -> dict[tuple[str, frozenset], float]:
    text = (await run.http.get("/metrics")).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


async def test_every_labelled_series_the_district_names_starts_at_zero(kafka, tmp_path):
    district = sample_district()
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        found = await samples(run)
    missing = []

    def expect(name: str, **labels: str) -> None:
        if value(found, name, **labels) != 0.0:
            missing.append(f"{name}{labels} = {value(found, name, **labels)}")

    for branch in district.branch_codes:
        for stage in SlaStage:
            for name in ("appeal_sla_breaches_total", "appeal_sla_warnings_total",
                         "appeal_sla_deadlines_reached_total", "appeal_cases_breaching_soon", "appeal_cases_overdue"):
                expect(name, stage=stage, branch=branch)
        for name in ("appeal_cases_dispatched_total", "appeal_cases_reassigned_total", "appeal_urges_total",
                     "appeal_cases_closed_total", "appeal_member_evaluations_total", "appeal_accept_seconds_count",
                     "appeal_respond_seconds_count", "appeal_project_slots_claimed_total",
                     "appeal_project_completions_total"):
            expect(name, branch=branch)
        for late in ("true", "false"):
            expect("appeal_project_withdrawals_total", branch=branch, late=late)
        for satisfied in ("true", "false"):
            expect("appeal_feedback_total", branch=branch, satisfied=satisfied)
        for period in PERIODS:
            for measure in MEASURES:
                expect("appeal_case_outcomes", period=period, street=district.street_of_branch[branch], branch=branch,
                       measure=measure)
    for street in district.streets:
        expect("appeal_cases_escalated_total", street=street.code)
        expect("appeal_projects_published_total", street=street.code)
        expect("appeal_street_queue", street=street.code)
        expect("appeal_case_outcomes", period="all", street=street.code, branch="none", measure="cases")
    for category in district.categories:
        for source in ("hotline", "grid"):
            expect("appeal_cases_received_total", source=source, category=category.code)
    for service, consumed in SERVICES_CONSUMING.items():
        expect("appeal_outbox_pending", service=service)
        expect("appeal_outbox_publish_failures_total", service=service)
        for topic in consumed:
            expect("appeal_dead_letters_total", service=service, topic=topic)
            expect("appeal_redeliveries_total", service=service, topic=topic)
            expect("appeal_consumer_stuck", service=service, topic=topic)
            expect("appeal_consumed_messages_total", group=f"appeal-{service}", topic=topic)
    assert not missing, "\n".join(missing)
    community = district.communities[0]
    assert value(found, "appeal_branch_info", branch=community.branch.code, branch_name=community.branch.name,
                 community=community.code, community_name=community.name, street=district.streets[0].code,
                 street_name=district.streets[0].name) == 1.0


async def test_a_case_is_counted_as_consumed_and_published_and_leaves_no_lag(kafka, tmp_path):
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        operator = await run.login("U100")
        case = await run.register(operator)
        await run.wait_case(case["case_id"], operator, lambda c: c["status"] == "dispatched")
        dispatch = run.system.service("dispatch")

        async def counted() -> bool:
            found = await samples(run)
            assert value(found, "appeal_consumed_messages_total", group="appeal-dispatch",
                         topic=topics.CASE_REGISTERED) == 1.0
            assert value(found, "appeal_published_messages_total", service="intake",
                         topic=topics.CASE_REGISTERED) == 1.0
            assert value(found, "appeal_published_messages_total", service="dispatch",
                         topic=topics.CASE_DISPATCH) == 1.0
            await dispatch.flow.sample_lag(dispatch.broker)
            assert value(await samples(run), "appeal_consumer_lag_messages", group="appeal-dispatch",
                         topic=topics.CASE_REGISTERED) == 0.0
            return True

        await run.wait_for(counted)


async def test_the_system_exports_every_metric_the_dashboards_and_alerts_use(kafka, tmp_path):
    """The dashboards' and rules' tests check their queries against SPEC_METRICS; this
    checks SPEC_METRICS against what the services expose, names and labels."""
    async with running_system(settings_for(kafka.bootstrap, tmp_path)) as run:
        found = await samples(run)
    exposed: dict[str, set[str]] = {}
    for name, labels in found:
        base = next((name.removesuffix(suffix) for suffix in ("_bucket", "_count", "_sum", "_created")
                     if name.removesuffix(suffix) in HISTOGRAMS), name)
        exposed.setdefault(base, set()).update(key for key, _ in labels if key != "le")
    wanted = {name: labels for name, labels in SPEC_METRICS.items() if name != "up"}
    assert {name: exposed.get(name) for name in wanted} == wanted
