"""Assembling services into a process: one for `appeal run SERVICE`, all five for `appeal dev`."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.claim.app import build_service as build_claim
from services.dispatch.app import build_service as build_dispatch
from services.feedback.app import build_service as build_feedback
from services.intake.app import build_service as build_intake
from services.sla.app import build_service as build_sla
from shared.auth import Auth, TokenIssuer, UserDirectory
from shared.clock import Clock, SystemClock
from shared.district import District, load_district
from shared.http import Peers, build_http_app
from shared.runtime import Context, Service
from shared.settings import Settings

BUILDERS: dict[str, Callable[[Context], Service]] = {
    "intake": build_intake,
    "dispatch": build_dispatch,
    "claim": build_claim,
    "sla": build_sla,
    "feedback": build_feedback,
}
SERVICE_NAMES = tuple(BUILDERS)


@dataclass
class System:
    context: Context
    services: list[Service]
    app: FastAPI

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)


def build_context(settings: Settings, *, district: District | None = None, clock: Clock | None = None,
                  registry: CollectorRegistry | None = None) -> Context:
    clock = clock or SystemClock()
    tokens = TokenIssuer(settings.secret_key.get_secret_value(), timedelta(seconds=settings.token_ttl_seconds), clock)
    district = district or load_district(settings.district_file)
    return Context(settings=settings, district=district, registry=registry or CollectorRegistry(),
                   auth=Auth(tokens, UserDirectory(district)), clock=clock)


def build_system(settings: Settings, names: Sequence[str] = SERVICE_NAMES, *, district: District | None = None,
                 clock: Clock | None = None, registry: CollectorRegistry | None = None,
                 peers: Peers | None = None) -> System:
    """``peers`` are processes running these services' consumers: this one then serves
    HTTP, relays and runs the workers, and answers /metrics and /readyz for them too."""
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        raise ValueError(f"unknown service {', '.join(unknown)}; choose from {', '.join(SERVICE_NAMES)}")
    context = build_context(settings, district=district, clock=clock, registry=registry)
    services = [BUILDERS[name](context) for name in names]
    for service in services:
        service.consumes = peers is None
    title = "Appeal loop" if len(services) > 1 else f"Appeal loop — {services[0].name}"
    app = build_http_app(context, services, tokens=context.auth.tokens,
                         directory=context.auth.directory, title=title, peers=peers)
    return System(context, services, app)
