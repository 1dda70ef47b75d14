"""Pure decisions at registration: category, priority, case number (the tracking code is
``shared.privacy.new_tracking_code``)."""

from datetime import datetime

from shared.district import District

FALLBACK_CATEGORY = "other"


class InvalidReport(ValueError):
    """A report that names things the district does not have."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def classify(description: str, district: District) -> str:
    """The category whose keywords occur most often in the description; ties go to the
    category listed first, no hit at all to ``other`` (or the last category)."""
    best, best_hits = None, 0
    for category in district.categories:
        hits = sum(description.count(keyword) for keyword in category.keywords)
        if hits > best_hits:
            best, best_hits = category.code, hits
    if best is not None:
        return best
    return FALLBACK_CATEGORY if FALLBACK_CATEGORY in district.category_by_code else district.categories[-1].code


def decide_category_and_priority(
    description: str, category: str | None, priority: str | None, district: District
) -> tuple[str, str]:
    check_category(category, district)
    chosen = category or classify(description, district)
    return chosen, priority or district.category_by_code[chosen].priority


def check_category(category: str | None, district: District) -> None:
    if category is not None and category not in district.category_by_code:
        known = ", ".join(district.category_by_code)
        raise InvalidReport("category", f"unknown category {category!r}; known: {known}")


def check_grid(grid_code: str | None, district: District) -> None:
    if grid_code is not None and grid_code not in district.community_by_grid:
        raise InvalidReport("grid_code", f"unknown grid {grid_code!r}")


def case_number(district_code: str, registered_at: datetime, sequence: int) -> str:
    return f"{district_code}-{registered_at:%Y%m%d}-{sequence:06d}"

