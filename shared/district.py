"""The district file: every place- and people-specific fact, loaded and checked once.

Errors name the field and the entry (``streets[1].communities[0] (鼓西…): …``) so the
person editing the YAML can find the line.
"""

import re
from collections.abc import Iterator
from datetime import timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema, model_validator
from pydantic_core import ErrorDetails

Role = Literal["operator", "member", "supervisor", "command_center"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value))
    if not match:
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:40]}…"  # an error never echoes a megabyte
        raise ValueError(f"{shown} is not a duration like 30s, 10m, 1h or 2d")
    try:
        return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    except OverflowError:
        raise ValueError(f"{value!r} is longer than any duration this system keeps") from None


Duration = Annotated[timedelta, BeforeValidator(parse_duration),
                     WithJsonSchema({"type": "string", "pattern": _DURATION.pattern, "examples": ["30m", "2h"]})]
"""A span written as 30s, 10m, 1h or 2d, in the district file and in request bodies alike."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlaPolicy(_Entry):
    accept: Duration
    respond: Duration
    warn_at: float = Field(default=0.8, gt=0, lt=1)
    suspend_limit: Duration = Field(
        default=timedelta(hours=24),
        description="How long in all a member may stop the respond clock (挂起) while the citizen is unreachable.")

    @model_validator(mode="after")
    def _respond_after_accept(self) -> "SlaPolicy":
        if self.respond < self.accept:
            raise ValueError("respond must not be shorter than accept")
        if self.suspend_limit < timedelta(0):
            raise ValueError("suspend_limit must not be negative")
        return self


class Category(_Entry):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    keywords: list[str] = []
    priority: Literal["normal", "urgent"] = "normal"


class Person(_Entry):
    id: str = Field(min_length=1)
    name: str
    password: str = Field(min_length=1)


class Member(Person):
    skills: list[str] = []
    secretary: bool = Field(default=False, description="The branch secretary (支部书记): publishes the branch's "
                                                       "volunteer projects and confirms its members' completions.")


class Branch(_Entry):
    code: str = Field(min_length=1)
    name: str


class Community(_Entry):
    code: str = Field(min_length=1)
    name: str
    aliases: list[str] = []
    branch: Branch
    grids: list[str] = []
    members: list[Member] = []


class Street(_Entry):
    code: str = Field(min_length=1)
    name: str
    supervisors: list[Person] = []
    communities: list[Community] = Field(min_length=1)


class PointsRules(_Entry):
    """How volunteer projects earn points (积分); the ledger keeps each entry's reason."""

    per_project: int = Field(default=10, ge=0, description="A project's points per member unless its publisher "
                                                           "sets them.")
    max_per_project: int = Field(default=100, ge=0, description="The most points a publisher may set.")
    good_evaluation_bonus: int = Field(default=5, ge=0, description="Added for each confirmed member once the "
                                                                     "residents served rate the project good.")
    good_rating: int = Field(default=4, ge=1, le=5, description="The residents' rating that counts as good.")
    late_withdrawal: int = Field(default=0, le=0, description="Added (0 or less) when a member withdraws after the "
                                                               "claim cut-off: no points, or a penalty.")

    @model_validator(mode="after")
    def _default_within_most(self) -> "PointsRules":
        if self.per_project > self.max_per_project:
            raise ValueError("per_project must not exceed max_per_project")
        return self


class Open311Client(_Entry):
    name: str
    api_key: str = Field(min_length=1)


class DistrictInfo(_Entry):
    code: str = Field(min_length=1)
    name: str


class District(_Entry):
    district: DistrictInfo
    sla: dict[Literal["normal", "urgent"], SlaPolicy]
    categories: list[Category] = Field(min_length=1)
    streets: list[Street] = Field(min_length=1)
    operators: list[Person] = []
    command_center: list[Person] = Field(
        default=[], description="The district's command center (指挥中心): supervisors of every street.")
    open311_clients: list[Open311Client] = []
    escalation_loops: int = Field(default=2, ge=0, description="Branch hops on accept breach before the street queue.")
    points: PointsRules = PointsRules()

    @model_validator(mode="after")
    def _consistent(self) -> "District":
        for priority in ("normal", "urgent"):
            if priority not in self.sla:
                raise ValueError(f"sla.{priority} is missing")
        _unique("categories[].code", [c.code for c in self.categories])
        _unique("streets[].code", [s.code for s in self.streets])
        _unique("community codes", [c.code for c in self.communities])
        _unique("branch codes", self.branch_codes + [s.code for s in self.streets])
        _unique("grid codes", [g for c in self.communities for g in c.grids])
        _unique("user ids", [p.id for p, _, _ in self.people()])
        known = {c.code for c in self.categories}
        for i, street in enumerate(self.streets):
            for j, community in enumerate(street.communities):
                for k, member in enumerate(community.members):
                    unknown = sorted(set(member.skills) - known)
                    if unknown:
                        raise ValueError(f"streets[{i}].communities[{j}].members[{k}] ({member.id} {member.name}): "
                                         f"unknown skills {unknown} (skills are category codes)")
        return self

    @property
    def communities(self) -> list[Community]:
        return [c for s in self.streets for c in s.communities]

    @property
    def branch_codes(self) -> list[str]:
        return [c.branch.code for c in self.communities]

    def people(self) -> Iterator[tuple[Person, Role, str | None]]:
        """Every user with their role and unit: a member's branch, a supervisor's street,
        the command center's district."""
        for person in self.operators:
            yield person, "operator", None
        for person in self.command_center:
            yield person, "command_center", self.district.code
        for street in self.streets:
            for person in street.supervisors:
                yield person, "supervisor", street.code
            for community in street.communities:
                for member in community.members:
                    yield member, "member", community.branch.code

    @cached_property
    def member_by_id(self) -> dict[str, Member]:
        return {m.id: m for c in self.communities for m in c.members}

    @cached_property
    def secretaries(self) -> dict[str, str]:
        """Each branch secretary's id and the branch they lead."""
        return {m.id: c.branch.code for c in self.communities for m in c.members if m.secretary}

    @cached_property
    def person_by_id(self) -> dict[str, Person]:
        return {person.id: person for person, _role, _unit in self.people()}

    @cached_property
    def category_by_code(self) -> dict[str, Category]:
        return {c.code: c for c in self.categories}

    @cached_property
    def community_by_grid(self) -> dict[str, Community]:
        return {g: c for c in self.communities for g in c.grids}

    @cached_property
    def community_by_branch(self) -> dict[str, Community]:
        return {c.branch.code: c for c in self.communities}

    @cached_property
    def street_of_community(self) -> dict[str, Street]:
        return {c.code: s for s in self.streets for c in s.communities}

    @cached_property
    def street_by_code(self) -> dict[str, Street]:
        return {s.code: s for s in self.streets}

    @cached_property
    def street_of_branch(self) -> dict[str, str]:
        return {c.branch.code: s.code for s in self.streets for c in s.communities}

    def street_of_unit(self, code: str) -> str | None:
        """The street a branch belongs to, or the street itself."""
        return code if code in self.street_by_code else self.street_of_branch.get(code)


class DistrictError(ValueError):
    """The district file cannot be used; the message says where and why."""


def bundled_district_path() -> Path:
    return Path(str(resources.files("shared") / "data" / "district.yaml"))


def load_district(path: Path | None = None) -> District:
    source = path or bundled_district_path()
    try:
        raw = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DistrictError(f"district file {source} does not exist") from None
    except UnicodeDecodeError:
        raise DistrictError(f"district file {source} is not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise DistrictError(f"district file {source} cannot be read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise DistrictError(f"district file {source} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise DistrictError(f"district file {source} must be a mapping with district, sla, categories, streets")
    try:
        return District.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(_describe(raw, e) for e in error.errors())
        raise DistrictError(f"district file {source}: {problems}") from None


def _describe(raw: Any, error: ErrorDetails) -> str:
    location, node, label = "", raw, ""
    for part in error["loc"]:
        location += f"[{part}]" if isinstance(part, int) else (f".{part}" if location else str(part))
        node = _child(node, part)
        if isinstance(node, dict):
            name = node.get("id") or node.get("code") or node.get("name")
            label = f" ({name})" if name else label
    message = error["msg"].removeprefix("Value error, ")
    return f"{location}{label}: {message}" if location else message


def _child(node: Any, part: int | str) -> Any:
    """What ``part`` names in a mapping or a list of the file; None where there is nothing."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} must be unique; {value!r} appears twice")
        seen.add(value)
