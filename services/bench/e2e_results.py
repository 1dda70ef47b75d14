"""`appeal bench e2e`'s figures as one JSON object, judged against the targets, and the
summary people read: PostgreSQL's figures carry a ``_pg`` suffix and are null without
a PostgreSQL run, so every key is there on every run."""

from dataclasses import dataclass

ALWAYS_THERE = ("p50_ms_at_500", "p99_ms_at_500", "rss_mb_at_10pct", "rss_mb_at_end", "rss_growth")
"""Keys in every result, null when not measured (no 500/s load, no memory run)."""
MARKS = {True: "met", False: "MISSED", None: "not measured"}


@dataclass(frozen=True)
class Targets:
    cases_per_s: float = 2000.0
    cases_per_s_pg: float = 1500.0
    p99_ms_at_500: float = 200.0
    burst_drain_s: float = 10.0


TARGETS = Targets()


@dataclass(frozen=True)
class BackendFigures:
    backend: str
    figures: dict
    phases: list[dict]


def load_key(rate: float) -> str:
    return f"{rate:g}"


def assemble(runs: list[BackendFigures], limits: dict, settings: dict, targets: Targets) -> dict:
    sqlite, *others = runs
    figures = {**sqlite.figures, **{key: sqlite.figures.get(key) for key in ALWAYS_THERE}}
    postgres = others[0].figures if others else {}
    phases = [phase for run in runs for phase in run.phases]
    result = {
        "backends": [run.backend for run in runs],
        "cases": sum(p["written"] for p in phases), "dispatched": sum(p["dispatched"] for p in phases),
        **settings, **limits, **figures, **{f"{key}_pg": postgres.get(key) for key in figures},
        "phases": phases,
    }
    result["targets"] = judge(result, targets)
    return result


def judge(result: dict, targets: Targets) -> dict:
    """Each target with the measured value and whether it is met (null: not measured)."""
    bounds = {"cases_per_s": ("at_least", targets.cases_per_s), "cases_per_s_pg": ("at_least", targets.cases_per_s_pg),
              "p99_ms_at_500": ("at_most", targets.p99_ms_at_500), "burst_drain_s": ("at_most", targets.burst_drain_s)}
    judged = {}
    for key, (kind, bound) in bounds.items():
        value = result.get(key)
        met = None if value is None else (value >= bound if kind == "at_least" else value <= bound)
        judged[key] = {kind: bound, "value": value, "met": met}
    return judged


def summary(result: dict) -> str:
    lines = [(f"kafka on its own: raw aiokafka produced {result['raw_produce_per_s']:,.0f}/s and consumed "
              f"{result['raw_consume_per_s']:,.0f}/s; a naive FastStream relay {result['naive_per_s']:,.0f}/s")]
    for backend in result["backends"]:
        lines += _backend_lines(result, backend, "" if backend == "sqlite" else "_pg")
    lines += ["targets:", *(_target_line(key, judged) for key, judged in result["targets"].items())]
    return "\n".join(lines)


def _target_line(key: str, judged: dict) -> str:
    limit = f">= {judged['at_least']:,g}" if "at_least" in judged else f"<= {judged['at_most']:,g}"
    value = "n/a" if judged["value"] is None else f"{judged['value']:,g}"
    return f"  {key} {value} {limit}: {MARKS[judged['met']]}"


def _backend_lines(result: dict, backend: str, suffix: str) -> list[str]:
    def figure(key: str) -> float:
        return result[f"{key}{suffix}"]

    latencies = "; ".join(f"at {load_key(rate)}/s p50 {figure(f'p50_ms_at_{load_key(rate)}'):,.0f} ms, "
                          f"p99 {figure(f'p99_ms_at_{load_key(rate)}'):,.0f} ms" for rate in result["loads"])
    lines = [f"end to end on {backend}: {figure('cases_per_s'):,.1f} cases/s dispatched with their timers armed "
             f"({figure('timers_pending'):,} timers pending of {figure('timers_expected'):,} expected)",
             f"  latency {latencies}",
             f"  burst of {result['burst']:,} drained in {figure('burst_drain_s'):,.1f} s",
             f"  peak RSS of appeal dev {figure('rss_mb'):,.1f} MB"]
    if figure("rss_mb_at_end") is not None:
        lines.append(f"  RSS {figure('rss_mb_at_10pct'):,.1f} MB after a tenth of {result['memory_cases']:,} more "
                     f"cases, {figure('rss_mb_at_end'):,.1f} MB at the end (x{figure('rss_growth')})")
    return lines
