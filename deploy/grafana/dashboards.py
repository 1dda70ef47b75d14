"""The Grafana dashboards, as code: writes the JSON files that Grafana provisions from
deploy/grafana/dashboards/, so a change to a panel is a reviewed diff of this file.

    python deploy/grafana/dashboards.py           # rewrite the JSON files
    python deploy/grafana/dashboards.py --check   # exit 1 naming each file that differs

Queries never depend on job names (a service's replicas are one job each in production,
`appeal dev` is the single job `appeal`), except the count of instances up. Gauges read
from a database are the same on every replica, so they are taken `max by` their own labels
before any sum; counters and per-process gauges are summed.
"""

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import bargauge, common, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT_DIR = Path(__file__).parent / "dashboards"

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
BRANCH = 'branch=~"$branch"'
STREET = 'street=~"$street"'
SERVICE_JOBS = "intake|dispatch|claim|sla|feedback|appeal"
STAGES = (("accept", "受理 (accept)"), ("respond", "响应 (respond)"))
AGES = ("0-10m", "10m-1h", "1h-1d", "1d-7d", "7d+")
BRANCH_NAMES = f"max by (branch, branch_name) (appeal_branch_info{{{STREET}}})"
STREET_NAMES = "max by (street, street_name) (appeal_branch_info)"
QUEUES = ('label_replace(label_replace(max(appeal_branch_info), "branch", "none", "", ""), '
          '"branch_name", "街道队列 (none: in a street queue)", "", "")')


@dataclass(frozen=True)
class Rate:
    """One of the rates of `appeal report`: a measure of appeal_case_outcomes over another."""

    title: str
    numerator: str
    denominator: str
    empty: str  # shown instead of 0/0, which is no case rather than a rate of zero


RATES = (
    Rate("响应率 (on-time accept rate)", "accepted_on_time", "dispatched", "未派单 (none dispatched)"),
    Rate("1h响应率 (on-time respond rate)", "responded_on_time", "dispatched", "未派单 (none dispatched)"),
    Rate("解决率 (resolution rate)", "resolved", "dispatched", "未派单 (none dispatched)"),
    Rate("满意率 (satisfaction rate)", "satisfied", "rated", "无评价 (none rated)"),
)


class Query(NamedTuple):
    expr: str
    legend: str = "__auto"


# PromQL


def selector(metric: str, *matchers: str) -> str:
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def db_gauge(metric: str, labels: str, *matchers: str) -> str:
    """A gauge every replica reads from the same database: one value per label set."""
    return f"max by ({labels}) ({selector(metric, *matchers)})"


def summed(expr: str, by: str = "") -> str:
    return f"sum by ({by}) ({expr})" if by else f"sum({expr})"


def db_total(metric: str, labels: str, *matchers: str) -> str:
    return summed(db_gauge(metric, labels, *matchers))


def increase(metric: str, window: str, *matchers: str, by: str = "") -> str:
    return summed(f"increase({selector(metric, *matchers)}[{window}])", by)


def per_second(metric: str, *matchers: str, by: str = "") -> str:
    return summed(f"rate({selector(metric, *matchers)}[$__rate_interval])", by)


def quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket[$__rate_interval])))"


def outcome(measure: str) -> str:
    """One measure of the cases registered in $period, per street and branch (branch none:
    the street's queue), of the selected streets and branches."""
    return db_gauge("appeal_case_outcomes", "street, branch", 'period="$period"', f'measure="{measure}"', STREET,
                    BRANCH)


def with_branch_name(per_branch: str) -> str:
    """Adds branch_name to an expression with one series per branch, keeping only the
    branches of the selected streets."""
    return f"{per_branch} * on (branch) group_left (branch_name) {BRANCH_NAMES}"


def per_street(per_branch: str) -> str:
    """Adds up a street's branches and its queue, as `appeal report --street` does."""
    return f"({summed(per_branch, 'street')} * on (street) group_left (street_name) {STREET_NAMES})"


def overall_rate(rate: Rate) -> str:
    return f"sum({outcome(rate.numerator)}) / sum({outcome(rate.denominator)})"


def street_rate(rate: Rate) -> str:
    return f"{per_street(outcome(rate.numerator))} / {per_street(outcome(rate.denominator))}"


def branch_rate(rate: Rate) -> str:
    return with_branch_name(f"({outcome(rate.numerator)} / {outcome(rate.denominator)})")


# Panels


class PanelBuilder(Protocol):
    def id(self, id_val: int) -> Self: ...
    def title(self, title: str) -> Self: ...
    def description(self, description: str) -> Self: ...
    def datasource(self, datasource: model.DataSourceRef) -> Self: ...
    def with_target(self, targets: cogbuilder.Builder[variants.Dataquery]) -> Self: ...
    def unit(self, unit: str) -> Self: ...
    def decimals(self, decimals: float) -> Self: ...
    def no_value(self, no_value: str) -> Self: ...
    def span(self, w: int) -> Self: ...
    def height(self, h: int) -> Self: ...


P = TypeVar("P", bound=PanelBuilder)


@dataclass(frozen=True)
class Look:
    """What every panel shares: its size, unit and what it shows when a query answers nothing."""

    width: int = 8
    height: int = 8
    unit: str = "short"
    no_value: str = "0"
    decimals: int | None = None


def framed(panel: P, title: str, description: str, queries: Iterable[Query], look: Look, *, instant: bool,
           as_table: bool = False) -> P:
    panel = (panel.title(title).description(description).datasource(DATASOURCE).unit(look.unit)
             .no_value(look.no_value).span(look.width).height(look.height))
    if look.decimals is not None:
        panel = panel.decimals(look.decimals)
    for ref, query in zip("ABCDEFGH", queries, strict=False):
        target = prometheus.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(ref).datasource(DATASOURCE)
        if as_table:
            target = target.format(PromQueryFormat.TABLE)
        panel = panel.with_target(target.instant() if instant else target)
    return panel


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return dashboard.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(
        [model.Threshold(value=value, color=color) for value, color in steps])


def when_empty(text: str) -> list[model.ValueMapping]:
    options = model.DashboardSpecialValueMapOptions(
        match=model.SpecialValueMatch.NA_N, result=model.ValueMappingResult(text=text, color="text"))
    return [model.SpecialValueMap(options=options)]


OK_ABOVE_ZERO = thresholds((None, "red"), (1, "green"))
BAD_ABOVE_ZERO = thresholds((None, "green"), (1, "red"))
RATE_COLOURS = thresholds((None, "red"), (0.8, "orange"), (0.95, "green"))
PLAIN = thresholds((None, "text"))
COUNT = Look(width=8, height=4, decimals=0)


def stat_panel(title: str, description: str, *queries: Query, look: Look = COUNT,
               colours: dashboard.ThresholdsConfig = PLAIN, mappings: Sequence[model.ValueMapping] = ()) -> stat.Panel:
    panel = framed(stat.Panel(), title, description, queries, look, instant=True)
    return (panel.thresholds(colours).mappings(list(mappings)).color_mode(common_model.BigValueColorMode.VALUE)
            .graph_mode(common_model.BigValueGraphMode.NONE)
            .text_mode(common_model.BigValueTextMode.VALUE_AND_NAME if len(queries) > 1 else
                       common_model.BigValueTextMode.VALUE)
            .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))


def rate_stat(rate: Rate, description: str) -> stat.Panel:
    return stat_panel(rate.title, description, Query(overall_rate(rate)),
                      look=Look(width=4, height=4, unit="percentunit", no_value=rate.empty, decimals=1),
                      colours=RATE_COLOURS, mappings=when_empty(rate.empty))


def graph(title: str, description: str, *queries: Query, look: Look = Look(),
          stacked: bool = False) -> timeseries.Panel:
    panel = framed(timeseries.Panel(), title, description, queries, look, instant=False)
    panel = panel.fill_opacity(60 if stacked else 10).legend(
        common.VizLegendOptions().show_legend(True).display_mode(common_model.LegendDisplayMode.LIST)
        .placement(common_model.LegendPlacement.BOTTOM))
    return panel.stacking(common.StackingConfig().mode(common_model.StackingMode.NORMAL)) if stacked else panel


def bars(title: str, description: str, *queries: Query, look: Look = Look(decimals=0),
         colours: dashboard.ThresholdsConfig = PLAIN) -> bargauge.Panel:
    panel = framed(bargauge.Panel(), title, description, queries, look, instant=True)
    return (panel.thresholds(colours).display_mode(common_model.BarGaugeDisplayMode.BASIC)
            .orientation(common_model.VizOrientation.HORIZONTAL).min(0)
            .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))


@dataclass(frozen=True)
class Column:
    """A table column: one instant query whose rows join the others' on their labels."""

    title: str
    expr: str
    unit: str = "short"
    decimals: int = 0
    colours: dashboard.ThresholdsConfig = PLAIN
    empty: str = "0"


def rate_column(rate: Rate, expr: str) -> Column:
    return Column(rate.title, expr, unit="percentunit", decimals=1, colours=RATE_COLOURS, empty=rate.empty)


def table_panel(title: str, description: str, name_label: str, name_title: str, columns: Sequence[Column],
                look: Look = Look(width=24, height=9)) -> table.Panel:
    """One row per label set, one column per query: Grafana's `merge` joins instant tables on
    their labels; `organize` names the columns and hides the rest (Time, codes)."""
    queries = [Query(column.expr) for column in columns]
    panel = framed(table.Panel(), title, description, queries, look, instant=True, as_table=True)
    names = {f"Value #{ref}": column.title for ref, column in zip("ABCDEFGH", columns, strict=False)}
    organize = {"excludeByName": {"Time": True, "branch": True, "street": True},
                "indexByName": {name_label: 0} | {name: i + 1 for i, name in enumerate(names)},
                "renameByName": {name_label: name_title} | names}
    panel = (panel.with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
             .with_transformation(model.DataTransformerConfig(id_val="organize", options=organize))
             .sort_by([common.TableSortByFieldState().display_name(columns[0].title).desc(True)]))
    for column in columns:
        panel = panel.override_by_name(column.title, [
            model.DynamicConfigValue(id_val="unit", value=column.unit),
            model.DynamicConfigValue(id_val="decimals", value=column.decimals),
            model.DynamicConfigValue(id_val="noValue", value=column.empty),
            model.DynamicConfigValue(id_val="thresholds", value=column.colours.build()),
            model.DynamicConfigValue(id_val="mappings", value=when_empty(column.empty)),
            model.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
        ])
    return panel


# Variables


def datasource_variable() -> dashboard.DatasourceVariable:
    """The provisioned Prometheus (deploy/grafana/provisioning/datasources) unless another is picked."""
    return (dashboard.DatasourceVariable("datasource").label("数据源 (data source)").type("prometheus")
            .current(model.VariableOption(text="Prometheus", value="prometheus", selected=True)))


PERIODS = (("近7天", "7d"), ("近30天", "30d"), ("全部", "all"))


def period_variable() -> dashboard.CustomVariable:
    """The periods of appeal_case_outcomes: the supervisor page's and `appeal report --since`."""
    options = [model.VariableOption(text=text, value=value, selected=value == "30d") for text, value in PERIODS]
    return (dashboard.CustomVariable("period").label("统计周期 (period)")
            .values(",".join(f"{text} : {value}" for text, value in PERIODS))
            .options(options).current(options[1]))


def named_variable(name: str, label: str, code: str, expr: str) -> dashboard.QueryVariable:
    """Codes as values, shown by name: query_result lists each code with its `<code>_name`
    label, and the regex's named groups pick the two."""
    regex = f'/{code}="(?<value>[^"]+)".*{code}_name="(?<text>[^"]+)"/'
    return (dashboard.QueryVariable(name).label(label).datasource(DATASOURCE).query(f"query_result({expr})")
            .regex(regex).multi(True).include_all(True).refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(model.VariableSort.ALPHABETICAL_ASC)
            .current(model.VariableOption(text=["All"], value=["$__all"], selected=True)))


def street_variable() -> dashboard.QueryVariable:
    return named_variable("street", "街道 (street)", "street", STREET_NAMES).all_value(".*")


def branch_variable() -> dashboard.QueryVariable:
    """All means the branches of the selected streets and their queues (no custom all
    value), so choosing a street narrows every branch-labelled panel, and a street's totals
    are `appeal report --street`'s: its branches' cases and its queue's."""
    return named_variable("branch", "党支部 (branch)", "branch", f"{BRANCH_NAMES} or {QUEUES}")


# Dashboards

AnyPanel = stat.Panel | timeseries.Panel | table.Panel | bargauge.Panel
Section = tuple[str, Sequence[AnyPanel]]


def board(uid: str, title: str, description: str, variables: Iterable[cogbuilder.Builder[model.VariableModel]],
          sections: Iterable[Section]) -> dashboard.Dashboard:
    """Rows of panels laid out left to right; ids in order, so the JSON only changes where a panel does."""
    ids = itertools.count(1)
    built = (dashboard.Dashboard(title).uid(uid).description(description).tags(["appeal", "12345"])
             .timezone("browser").time("now-24h", "now").refresh("30s").readonly()
             .tooltip(model.DashboardCursorSync.CROSSHAIR)
             .link(dashboard.DashboardLink("诉求闭环 (appeal loop)").type(model.DashboardLinkType.DASHBOARDS)
                   .tags(["appeal"]).icon("external link").keep_time(True).include_vars(False)))
    for variable in variables:
        built = built.with_variable(variable)
    for row_title, panels in sections:
        built = built.with_row(dashboard.Row(row_title).id(next(ids)))
        for panel in panels:
            built = built.with_panel(panel.id(next(ids)))
    return built


def stage_queries(expr_for_stage: Callable[[str], str]) -> list[Query]:
    return [Query(expr_for_stage(stage), legend) for stage, legend in STAGES]


def rates_section() -> Section:
    count = Look(width=4, height=4, decimals=0)
    return ("三率 · ${period:text} (rates of the cases registered in the period)", [
        *[rate_stat(rate, f"appeal_case_outcomes {rate.numerator} / {rate.denominator} of the selected branches' "
                          "cases registered in the period, as `appeal report` counts them.") for rate in RATES],
        stat_panel("案件 (cases)", "Cases of the selected branches registered in the period.",
                   Query(summed(outcome("cases"))), look=count),
        stat_panel("派单 (dispatched)", "Of those, the cases ever dispatched to a branch: three rates' denominator.",
                   Query(summed(outcome("dispatched"))), look=count),
    ])


def breaches_section() -> Section:
    def open_cases(metric: str) -> list[Query]:
        return stage_queries(lambda stage: db_total(metric, "stage, branch", f'stage="{stage}"', BRANCH))

    return ("超时 (breaches)", [
        stat_panel("当前超时 (overdue now)", "Open cases past their accept or respond deadline, by stage.",
                   *open_cases("appeal_cases_overdue"), colours=BAD_ABOVE_ZERO),
        stat_panel("即将超时 (breaching soon)",
                   "Open cases the SLA clock has warned about whose deadline has not passed yet, by stage.",
                   *open_cases("appeal_cases_breaching_soon"), colours=thresholds((None, "green"), (1, "orange"))),
        stat_panel("时段内超时 (breaches in the time range)",
                   "Confirmed breaches in the dashboard's time range: increase of appeal_sla_breaches_total.",
                   *stage_queries(lambda stage: increase("appeal_sla_breaches_total", "$__range",
                                                         f'stage="{stage}"', BRANCH)),
                   colours=BAD_ABOVE_ZERO),
    ])


def league_section() -> Section:
    streets = [rate_column(rate, street_rate(rate)) for rate in RATES] + [
        Column("案件 (cases)", per_street(outcome("cases")))]
    breaches = increase("appeal_sla_breaches_total", "$__range", BRANCH, by="branch")
    branches = [rate_column(rate, branch_rate(rate)) for rate in RATES] + [
        Column("案件 (cases)", with_branch_name(outcome("cases"))),
        Column("超时 (breaches, time range)", with_branch_name(breaches), colours=BAD_ABOVE_ZERO)]
    return ("街道与支部 · ${period:text} (streets and branches)", [
        table_panel("各街道 (by street)", "The rates per street: its branches' counts added up.",
                    "street_name", "街道 (street)", streets, look=Look(width=24, height=6)),
        table_panel("支部排行 (branch league table)",
                    "Each branch's rates and cases in the period; its breaches in the dashboard's time range.",
                    "branch_name", "党支部 (branch)", branches),
    ])


def flow_section() -> Section:
    def per_hour(metric: str, *matchers: str) -> str:
        return f"{per_second(metric, *matchers)} * 3600"

    street_queue = f"{db_gauge('appeal_street_queue', 'street', STREET)} * on (street) group_left (street_name) " \
                   f"{STREET_NAMES}"
    return ("流量与积压 (flow and backlog)", [
        graph("每小时进出 (cases in and out per hour)",
              "Received: the whole district (a new case has no branch yet). Dispatched, closed: the selected branches.",
              Query(per_hour("appeal_cases_received_total"), "受理 (received)"),
              Query(per_hour("appeal_cases_dispatched_total", BRANCH), "派单 (dispatched)"),
              Query(per_hour("appeal_cases_closed_total", BRANCH), "办结 (closed)"), look=Look(width=12)),
        graph("积压案龄 (open cases by age)", "Open cases by time since registration, stacked.",
              *[Query(db_total("appeal_open_cases_by_age", "branch, age", f'age="{age}"', BRANCH), age)
                for age in AGES],
              look=Look(width=12, decimals=0), stacked=True),
        bars("街道队列 (street queue)", "Cases waiting in a street's queue for a supervisor to reassign (改派).",
             Query(street_queue, "{{street_name}}"), look=Look(width=12, decimals=0), colours=BAD_ABOVE_ZERO),
        bars("在办案件 (open cases by status)", "Open cases of the selected branches by status.",
             Query(summed(db_gauge("appeal_open_cases", "branch, status", BRANCH), "status"), "{{status}}"),
             look=Look(width=12, decimals=0)),
    ])


def volunteer_section() -> Section:
    """Counters of the claim (projects, slots, completions) and feedback (points) services,
    over the dashboard's time range; points net as the ledger does: the counter adds what a
    late withdrawal takes off, so that reason is subtracted."""
    def in_range(metric: str, *matchers: str, by: str = "branch") -> str:
        return increase(metric, "$__range", *matchers, by=by)

    published = f"{in_range('appeal_projects_published_total', STREET, by='street')} " \
                f"* on (street) group_left (street_name) {STREET_NAMES}"
    def per_branch(title: str, metric: str, *matchers: str, **look: Any) -> Column:
        return Column(title, with_branch_name(in_range(metric, BRANCH, *matchers)), **look)

    earned = in_range("appeal_points_credited_total", BRANCH, 'reason!="late_withdrawal"')
    deducted = in_range("appeal_points_credited_total", BRANCH, 'reason="late_withdrawal"')
    branches = [Column("积分 (points)", with_branch_name(f"({earned} - {deducted})")),
                per_branch("认领 (slots claimed)", "appeal_project_slots_claimed_total"),
                per_branch("完成 (completions)", "appeal_project_completions_total"),
                per_branch("截止后退出 (late withdrawals)", "appeal_project_withdrawals_total", 'late="true"',
                           colours=BAD_ABOVE_ZERO)]
    return ("志愿服务 (volunteer projects)", [
        bars("发布项目 (projects published)", "Projects published in the time range, by street.",
             Query(published, "{{street_name}}"), look=Look(width=8, decimals=0)),
        graph("认领与完成 (slots claimed and completions per day)",
              "Slots claimed and completions confirmed, of the selected branches' members.",
              Query(f"{per_second('appeal_project_slots_claimed_total', BRANCH)} * 86400", "认领 (claimed)"),
              Query(f"{per_second('appeal_project_completions_total', BRANCH)} * 86400", "完成 (completed)"),
              look=Look(width=16)),
        table_panel("支部积分榜 (branch points league)",
                    "Points credited to each branch's members in the time range (比学赶超), with what earned them.",
                    "branch_name", "党支部 (branch)", branches),
    ])


def sla_dashboard() -> dashboard.Dashboard:
    return board("appeal-sla", "诉求时效总览 (SLA overview)",
                 "The rates of `appeal report`, breaches and backlog, by street and party branch.",
                 [datasource_variable(), period_variable(), street_variable(), branch_variable()],
                 [rates_section(), breaches_section(), league_section(), flow_section(), volunteer_section()])


INSTANCES_UP = Query(f'sum by (job) (up{{job=~"{SERVICE_JOBS}"}})', "{{job}}")
POLL_AGE = Query("time() - max(appeal_sla_last_poll_timestamp_seconds)", "秒 (seconds)")
POLL_AGE_MISSING = "无数据 (sla not scraped)"
TIMERS_OVERDUE = Query("max(appeal_sla_timers_overdue)", "逾期 (overdue)")


def glance_section() -> Section:
    small = Look(width=4, height=4, decimals=0)
    return ("概况 (at a glance)", [
        stat_panel("实例 (instances up)", "Scraped processes per job.", INSTANCES_UP, look=Look(width=8, height=4),
                   colours=OK_ABOVE_ZERO),
        stat_panel("计时轮询距今 (since the firing loop polled)",
                   "time() - max(appeal_sla_last_poll_timestamp_seconds); above 60 s it has stalled.", POLL_AGE,
                   look=Look(width=4, height=4, unit="s", decimals=0, no_value=POLL_AGE_MISSING),
                   colours=thresholds((None, "green"), (30, "orange"), (60, "red"))),
        stat_panel("逾期计时器 (timers overdue)", "Pending timers more than a few seconds past due.",
                   TIMERS_OVERDUE, look=small, colours=BAD_ABOVE_ZERO),
        stat_panel("待触发计时器 (timers pending)", "Accept and respond timers waiting to fire.",
                   Query("max(appeal_sla_timers_pending)"), look=small),
        stat_panel("时段内死信 (dead letters in the time range)", "Messages parked on appeal.dlq.",
                   Query(increase("appeal_dead_letters_total", "$__range")), look=small, colours=BAD_ABOVE_ZERO),
    ])


def kafka_section() -> Section:
    return ("Kafka", [
        graph("消费 (consumed per topic)", "Records handed to the consumers, per second.",
              Query(per_second("appeal_consumed_messages_total", by="topic"), "{{topic}}"), look=Look(unit="mps")),
        graph("发布 (published per topic)", "Events the outbox relays published, per second.",
              Query(per_second("appeal_published_messages_total", by="topic"), "{{topic}}"), look=Look(unit="mps")),
        graph("消费滞后 (consumer lag)", "Records not yet consumed, per consumer group and topic.",
              Query(summed("appeal_consumer_lag_messages", "group, topic"), "{{group}} {{topic}}"),
              look=Look(decimals=0)),
    ])


def timers_section() -> Section:
    return ("SLA 计时器 (SLA timers)", [
        graph("计时器延迟 (timer lag)", "How late the SLA timers fired.",
              Query(quantile(0.5, "appeal_sla_timer_lag_seconds"), "p50"),
              Query(quantile(0.99, "appeal_sla_timer_lag_seconds"), "p99"), look=Look(unit="s")),
        graph("逾期计时器 (timers overdue, over time)", "Pending timers more than a few seconds past due.",
              TIMERS_OVERDUE, look=Look(decimals=0)),
        graph("计时轮询距今 (since the firing loop polled, over time)", "Seconds since the firing loop last polled.",
              POLL_AGE, look=Look(unit="s", no_value=POLL_AGE_MISSING)),
    ])


def outbox_section() -> Section:
    return ("发件箱 (outbox)", [
        graph("发件箱积压 (outbox rows waiting)", "Rows waiting in each service's outbox.",
              Query(db_gauge("appeal_outbox_pending", "service"), "{{service}}"), look=Look(width=12, decimals=0)),
        graph("最旧未发 (oldest outbox row)", "Age of each service's oldest outbox row; 0 when empty.",
              Query(db_gauge("appeal_outbox_oldest_seconds", "service"), "{{service}}"),
              look=Look(width=12, unit="s")),
    ])


def errors_section() -> Section:
    def per_interval(metric: str, by: str) -> Query:
        legend = " ".join("{{" + label + "}}" for label in by.split(", "))
        return Query(increase(metric, "$__rate_interval", by=by), legend)

    narrow = Look(width=6, decimals=0)
    return ("死信与错误 (dead letters and errors)", [
        graph("死信 (dead letters)", "Messages parked on appeal.dlq, per service and topic.",
              per_interval("appeal_dead_letters_total", "service, topic"), look=narrow),
        graph("重投 (redeliveries)", "Messages that failed and could not be parked, so they come back.",
              per_interval("appeal_redeliveries_total", "service, topic"), look=narrow),
        graph("发布失败 (publish failures)", "Failed outbox relay attempts, per service.",
              per_interval("appeal_outbox_publish_failures_total", "service"), look=narrow),
        graph("卡住的分区 (stuck partitions)", "Partitions a service cannot get past.",
              Query(summed("appeal_consumer_stuck", "service, topic"), "{{service}} {{topic}}"), look=narrow),
    ])


def system_dashboard() -> dashboard.Dashboard:
    return board("appeal-system", "系统运行 (System)",
                 "Kafka throughput and lag, SLA timers, outboxes, dead letters and errors, instances up.",
                 [datasource_variable()],
                 [glance_section(), kafka_section(), timers_section(), outbox_section(), errors_section(),
                  ("实例 (instances)", [graph("实例 (instances up, over time)",
                                              "Scraped processes per job; a job at 0 is down.", INSTANCES_UP,
                                              look=Look(width=24, height=6, decimals=0))])])


DASHBOARDS = {"appeal-sla.json": sla_dashboard, "appeal-system.json": system_dashboard}


def render(built: dashboard.Dashboard) -> str:
    return json.dumps(built.build(), cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def problems(out_dir: Path) -> list[str]:
    """What --check reports: files that differ from what this script writes, or that it does not write."""
    found = [f"{out_dir / name}: stale, run python deploy/grafana/dashboards.py"
             for name, make in DASHBOARDS.items()
             if not (out_dir / name).exists() or (out_dir / name).read_text(encoding="utf-8") != render(make())]
    return found + [f"{path}: not written by deploy/grafana/dashboards.py, delete it"
                    for path in sorted(out_dir.glob("*.json")) if path.name not in DASHBOARDS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Writes the Grafana dashboards' JSON files.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each stale file")
    parser.add_argument("--out", type=Path, default=OUT_DIR,
                        help="directory of the files (default: dashboards/ next to this script)")
    args = parser.parse_args(argv)
    if args.check:
        found = problems(args.out)
        for problem in found:
            print(problem, file=sys.stderr)
        return 1 if found else 0
    for name, make in DASHBOARDS.items():
        (args.out / name).write_text(render(make()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
