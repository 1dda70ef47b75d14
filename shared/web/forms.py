"""Form errors in words that say what to fix, one per field."""

from collections.abc import Mapping

from pydantic import ValidationError


def problems_from(error: ValidationError, labels: Mapping[str, str]) -> dict[str, str]:
    """The first problem of each field, as the page shows it beside that field."""
    problems: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][-1]) if item["loc"] else "form"
        if name in problems:
            continue
        label = labels.get(name, name)
        problems[name] = _in_words(item["type"], label, item.get("ctx") or {}, item["msg"])
    return problems


def _in_words(kind: str, label: str, ctx: Mapping[str, object], message: str) -> str:
    if kind in ("missing", "string_too_short"):
        return f"请填写{label}"
    if kind == "string_too_long":
        return f"{label}最多{ctx.get('max_length')}个字，请删减"
    if kind == "string_pattern_mismatch":
        return f"{label}格式不对"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{label}超出范围"
    if kind in ("float_parsing", "int_parsing", "finite_number"):
        return f"{label}应为数字"
    if kind in ("literal_error", "enum"):
        return f"请从列表中选择{label}"
    return f"{label}：{message}"
