"""The gateway in deploy/nginx.conf sends every route of every service — API and pages —
to the service that serves it (nginx picks the first matching regex location, else the
prefix one)."""

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from services.system import SERVICE_NAMES, build_system
from shared.settings import Settings

NGINX = Path(__file__).parents[2] / "deploy" / "nginx.conf"
EVERY_SERVICE_SERVES = {"/", "/login", "/logout", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs",
                        "/redoc", "/asyncapi", "/asyncapi.json", "/api/auth/login", "/assets/docs/{path:path}"}
LOCATION = re.compile(r"location\s+(~\s+)?(\S+)\s*\{\s*set \$owner (\w+);")


def gateway_owner(path: str) -> str:
    locations = LOCATION.findall(NGINX.read_text())
    for is_regex, pattern, owner in locations:
        if is_regex and re.search(pattern, path):
            return owner
    prefixes = [(pattern, owner) for is_regex, pattern, owner in locations if not is_regex and path.startswith(pattern)]
    assert prefixes, f"the gateway sends {path} nowhere"
    return max(prefixes, key=lambda p: len(p[0]))[1]


def sample_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "X0101", template)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_the_gateway_sends_each_route_to_its_owner(tmp_path, service):
    system = build_system(Settings(data_dir=tmp_path, kafka_bootstrap="127.0.0.1:9"), [service])
    paths = {route.path for router in system.services[0].routers for route in router.routes
             if isinstance(route, APIRoute)} - EVERY_SERVICE_SERVES
    assert paths, f"{service} serves no routes of its own?"
    for path in paths:
        assert gateway_owner(sample_path(path)) == service, path


def test_static_files_and_docs_assets_come_through_intake():
    assert gateway_owner("/static/app.css") == "intake" and gateway_owner("/assets/docs/x.js") == "intake"


@pytest.mark.parametrize("path", ["/api/projects", "/api/projects/X0101", "/api/projects/X0101/claim",
                                  "/api/projects/X0101/members/M001/confirm", "/supervisor/projects",
                                  "/supervisor/projects/new", "/member/projects/X0101"])
def test_volunteer_projects_go_to_claim(path):
    assert gateway_owner(path) == "claim"


@pytest.mark.parametrize("path", ["/api/projects/X0101/evaluation", "/api/projects/X0101/member-evaluation"])
def test_evaluations_of_a_project_are_not_claims(path):
    """The residents' and the members' evaluations of a project are feedback's."""
    assert gateway_owner(path) != "claim"
