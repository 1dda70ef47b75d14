"""Rendering a page over the common layout, with the words and times people read."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from shared.auth import Identity
from shared.clock import LOCAL_TIME, Clock
from shared.district import District
from shared.web.session import HOME_BY_ROLE, ROLE_WORDS, Csrf, PageAuth
from shared.web.words import PRIORITY_TEXT, SOURCE_TEXT, STATUS_TEXT

SHARED_TEMPLATES = Path(__file__).parent / "templates"


def local(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(LOCAL_TIME).strftime(pattern) if value else ""


def duration_words(seconds: float) -> str:
    seconds = int(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分"
    return f"{minutes}分{secs:02d}秒" if minutes else f"{secs}秒"


def remaining_words(deadline: datetime | None, now: datetime) -> str:
    """What a countdown shows before its script runs (and without JavaScript)."""
    if deadline is None:
        return ""
    left = (deadline - now).total_seconds()
    return f"剩余{duration_words(left)}" if left >= 0 else f"已超时{duration_words(left)}"


@dataclass
class Pages:
    """A service's page renderer: its own templates first, then the shared layout."""

    templates: Jinja2Templates
    auth: PageAuth
    district: District
    clock: Clock

    @classmethod
    def build(cls, auth: PageAuth, district: District, clock: Clock, *template_dirs: Path) -> "Pages":
        templates = Jinja2Templates(directory=[*template_dirs, SHARED_TEMPLATES])
        templates.env.filters.update(local=local, status_text=lambda s: STATUS_TEXT.get(s, s),
                                     source_text=lambda s: SOURCE_TEXT.get(s, s),
                                     priority_text=lambda s: PRIORITY_TEXT.get(s, s),
                                     role_text=lambda r: ROLE_WORDS.get(r, r), duration=duration_words)
        templates.env.globals.update(district=district, home_by_role=HOME_BY_ROLE,
                                     category_name=lambda code: _category_name(district, code),
                                     branch_name=lambda code: _branch_name(district, code),
                                     street_name=lambda code: _street_name(district, code))
        return cls(templates, auth, district, clock)

    def render(self, request: Request, name: str, *, who: Identity | None = None, status_code: int = 200,
               **values: Any) -> HTMLResponse:
        token, fresh = self.auth.csrf.issue(request)
        now = self.clock.now()
        response = self.templates.TemplateResponse(
            request, name, {"who": who, "csrf_token": token, "now": now,
                            "remaining": lambda deadline: remaining_words(deadline, now), **values},
            status_code=status_code)
        Csrf.remember(response, request, fresh)
        # Pages carry personal data and one-time form tokens: never from a cache.
        response.headers["Cache-Control"] = "no-store"
        return response


def _category_name(district: District, code: str | None) -> str:
    category = district.category_by_code.get(code or "")
    return category.name if category else (code or "")


def _branch_name(district: District, code: str | None) -> str:
    community = district.community_by_branch.get(code or "")
    return community.branch.name if community else (code or "")


def _street_name(district: District, code: str | None) -> str:
    street = district.street_by_code.get(code or "")
    return street.name if street else (code or "")
