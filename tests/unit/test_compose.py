"""deploy/docker-compose.yml, deploy/Dockerfile and deploy/requirements.lock hold what
deploy/README.md promises: no default password and no sample district, pinned images and
dependencies, a health check on every long-running container probing the port it listens
on, only the gateway published beyond this host, and no dangling name or file.

Each rule is a function that lists the problems it finds in a parsed Compose file (PyYAML
resolves the ``<<: *appeal-service`` merges), so each is shown to pass on the real file and
to name the fault in a copy broken on purpose."""

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
README = DEPLOY / "README.md"
DOCKERFILE = DEPLOY / "Dockerfile"
LOCK = DEPLOY / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
NGINX = DEPLOY / "nginx.conf"

ONE_SHOTS = {"migrate"}
PUBLISHED_TO_ALL = {"gateway"}
"""Bound to every interface of the host; every other published port is bound to 127.0.0.1."""
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|DISTRICT_FILE")
"""Variables that must never fall back to a value: a default password or the sample district."""
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
FULL_VERSION = {"postgres": re.compile(r"^\d+\.\d+(-|$)")}
"""PostgreSQL numbers its releases major.minor; everything else here major.minor.patch."""
DEFAULT_FULL_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-|$)")
Compose = dict[str, Any]


def load() -> Compose:
    return yaml.safe_load(COMPOSE.read_text())


def with_defaults(value: str) -> str:
    """The value as Compose would see it with only the required variables set."""
    return VARIABLE.sub(lambda m: m.group(3) if m.group(2) in ("-", ":-") else f"<{m.group(1)}>", value)


def listening_port(compose: Compose, name: str) -> int | None:
    """The port the container's server listens on, from its own configuration."""
    environment = compose["services"][name].get("environment") or {}
    if "APPEAL_HTTP_PORT" in environment:
        return int(with_defaults(str(environment["APPEAL_HTTP_PORT"])))
    if name == "gateway":
        listen = re.search(r"^\s*listen\s+(\d+)\s*;", NGINX.read_text(), re.M)
        assert listen, "deploy/nginx.conf has no listen line"
        return int(listen.group(1))
    return {"prometheus": 9090, "grafana": 3000}.get(name)


def probe_text(service: dict[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test", [])
    return " ".join(test) if isinstance(test, list) else str(test)


def image_references(compose: Compose) -> dict[str, str]:
    images = {name: service["image"] for name, service in compose["services"].items() if "image" in service}
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("FROM "):
            images["Dockerfile"] = line.split()[1]
    return images


def settings_problems(compose: Compose) -> list[str]:
    fields = {f"{Settings.model_config.get('env_prefix', '')}{name}".upper() for name in Settings.model_fields}
    return [f"{name}: {key} is not a setting of shared.settings.Settings"
            for name, service in compose["services"].items()
            for key in (service.get("environment") or {}) if key.startswith("APPEAL_") and key not in fields]


def pin_problems(compose: Compose) -> list[str]:
    problems = []
    for where, image in image_references(compose).items():
        if "@sha256:" in image:
            continue
        repository, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        full = FULL_VERSION.get(repository.split("/")[-1], DEFAULT_FULL_VERSION)
        if not tag or tag == "latest" or not full.match(tag):
            problems.append(f"{where}: image {image} is not pinned to a full version")
    return problems


def appeal_image_problems(compose: Compose) -> list[str]:
    version = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    return [f"{name}: image {service['image']} is not appeal-loop:{version}, the version of pyproject.toml"
            for name, service in compose["services"].items()
            if "build" in service and service.get("image") != f"appeal-loop:{version}"]


def healthcheck_problems(compose: Compose) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        check = service.get("healthcheck")
        if check is None:
            problems.append(f"{name}: no healthcheck")
        elif check.get("disable") and name not in ONE_SHOTS:
            problems.append(f"{name}: healthcheck disabled, but it is not a one-shot")
        elif not check.get("disable") and not check.get("test"):
            problems.append(f"{name}: healthcheck without a test")
    return problems


def probe_port_problems(compose: Compose) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        if (service.get("healthcheck") or {}).get("disable"):
            continue
        ports = [int(port) for port in re.findall(r"https?://(?:127\.0\.0\.1|localhost):(\d+)", probe_text(service))]
        listening = listening_port(compose, name)
        if listening is None and ports:
            problems.append(f"{name}: probes port {ports[0]} of a server this test does not know")
        problems += [f"{name}: probes port {port} but listens on {listening}" for port in ports
                     if listening is not None and port != listening]
        if listening is not None and not ports:
            problems.append(f"{name}: its healthcheck probes no HTTP port (listens on {listening})")
    return problems


def liveness_problems(compose: Compose) -> list[str]:
    probes = {name: probe_text(service) for name, service in compose["services"].items()}
    probes["Dockerfile"] = "".join(line for line in DOCKERFILE.read_text().splitlines() if "HEALTHCHECK" in line
                                   or "CMD python" in line)
    return [f"{name}: its healthcheck probes /readyz; liveness is /healthz (a replica without partitions is alive)"
            for name, probe in probes.items() if "/readyz" in probe]


def port_problems(compose: Compose) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        for published in service.get("ports", []):
            parts = with_defaults(str(published)).split(":")
            host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
            if name not in PUBLISHED_TO_ALL and host_ip != "127.0.0.1":
                problems.append(f"{name}: port {published} is published beyond this host; bind it to 127.0.0.1")
            listening = listening_port(compose, name)
            if listening is not None and int(parts[-1]) != listening:
                problems.append(f"{name}: port {published} forwards to {parts[-1]} but it listens on {listening}")
    return problems


def default_secret_problems(text: str) -> list[str]:
    return [f"${{{name}{kind}{value}}} falls back to a value; require it with ${{{name}:?…}}"
            for name, kind, value in VARIABLE.findall(text) if SECRET_NAME.search(name) and kind in ("-", ":-")]


def required_variable_problems(text: str, readme: str) -> list[str]:
    required = sorted({name for name, kind, _ in VARIABLE.findall(text) if kind in ("?", ":?")})
    return [f"{name} is required by the Compose file but deploy/README.md does not mention `{name}`"
            for name in required if f"`{name}`" not in readme]


def dependency_problems(compose: Compose) -> list[str]:
    services = compose["services"]
    problems = []
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for other, how in (depends.items() if isinstance(depends, dict) else ((d, {}) for d in depends)):
            if other not in services:
                problems.append(f"{name}: depends on {other}, which is not a service")
                continue
            condition = (how or {}).get("condition", "service_started")
            check = services[other].get("healthcheck") or {}
            if condition == "service_healthy" and (not check or check.get("disable")):
                problems.append(f"{name}: waits for {other} to be healthy, but {other} has no healthcheck")
            if condition == "service_completed_successfully" and other not in ONE_SHOTS:
                problems.append(f"{name}: waits for {other} to complete, but {other} is not a one-shot")
    return problems


def volume_problems(compose: Compose) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")) and not (DEPLOY / source).exists():
                problems.append(f"{name}: mounts {source}, which is not in deploy/")
    return problems


def database_role_problems(compose: Compose) -> list[str]:
    services = compose["services"]
    admin = services["postgres"]["environment"]["POSTGRES_USER"]
    problems = []
    if not any(str(v).split(":")[1].startswith("/docker-entrypoint-initdb.d/") and "postgres-init.sql" in str(v)
               for v in services["postgres"].get("volumes", [])):
        problems.append("postgres: postgres-init.sql is not mounted into /docker-entrypoint-initdb.d/")
    for name, service in services.items():
        url = (service.get("environment") or {}).get("APPEAL_DATABASE_URL")
        if url is None:
            continue
        user = re.match(r"postgresql://([^:@]+)", url)
        assert user, f"{name}: APPEAL_DATABASE_URL names no PostgreSQL user"
        wanted = admin if name in ONE_SHOTS else "appeal"
        if user.group(1) != wanted:
            problems.append(f"{name}: connects to PostgreSQL as {user.group(1)}, not {wanted}")
    return problems


RULES = [settings_problems, pin_problems, appeal_image_problems, healthcheck_problems, probe_port_problems,
         liveness_problems, port_problems, dependency_problems, volume_problems, database_role_problems]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_compose_file_keeps_the_rule(rule):
    assert rule(load()) == []


def test_the_compose_text_has_no_default_secret_and_documents_what_it_requires():
    text = COMPOSE.read_text()
    assert default_secret_problems(text) == []
    assert required_variable_problems(text, README.read_text()) == []
    assert {"APPEAL_SECRET_KEY", "DISTRICT_FILE", "POSTGRES_PASSWORD", "POSTGRES_APPEAL_PASSWORD",
            "GRAFANA_ADMIN_PASSWORD"} <= {name for name, kind, _ in VARIABLE.findall(text) if kind == ":?"}


def test_the_services_share_the_anchor():
    services = load()["services"]
    for name in ("migrate", "intake", "dispatch", "claim", "sla", "feedback"):
        assert "build" in services[name] and services[name]["environment"]["APPEAL_HTTP_PORT"] == "8000", name
    assert services["migrate"]["healthcheck"] == {"disable": True}


def test_prometheus_scrapes_the_port_the_services_listen_on():
    port = listening_port(load(), "intake")
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    for job in scrape["scrape_configs"]:
        for discovery in job.get("dns_sd_configs", []):
            assert discovery["port"] == port, job["job_name"]
    assert set(re.findall(r"proxy_pass http://\$owner:(\d+);", NGINX.read_text())) == {str(port)}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_problems(lock: str, pyproject: str) -> list[str]:
    pins = {}
    problems = []
    for line in lock.splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            if not sep or not re.fullmatch(r"[\w.+!]+", version.strip()):
                problems.append(f"not an exact pin: {line}")
                continue
            pins[normalized(name.strip())] = version.strip()
    dependencies = tomllib.loads(pyproject)["project"]["dependencies"]
    names = {normalized(re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0]) for d in dependencies}
    problems += [f"{name}, a dependency in pyproject.toml, has no == pin in the lock"
                 for name in sorted(names - pins.keys())]
    if "appeal-loop" in pins:
        problems.append("the lock pins the project itself")
    return problems


def test_the_lock_pins_every_runtime_dependency():
    assert lock_problems(LOCK.read_text(), PYPROJECT.read_text()) == []


def test_a_missing_or_loose_pin_is_named():
    lock = LOCK.read_text()
    loose = re.sub(r"^asyncpg==.*$", "asyncpg>=0.29", re.sub(r"^PyJWT==.*\n", "", lock, flags=re.M), flags=re.M)
    assert lock_problems(loose, PYPROJECT.read_text()) == [
        "not an exact pin: asyncpg>=0.29",
        "asyncpg, a dependency in pyproject.toml, has no == pin in the lock",
        "pyjwt, a dependency in pyproject.toml, has no == pin in the lock"]


def test_the_image_installs_from_the_lock_only():
    text = DOCKERFILE.read_text()
    assert "pip install --no-deps -r requirements.lock" in text
    assert "pip install --no-deps ." in text and "pip check" in text
    assert re.search(r"pip install (?!--no-deps)", text) is None
    assert "!deploy/requirements.lock" in (DEPLOY / "Dockerfile.dockerignore").read_text()


def broken(change) -> Compose:
    compose = copy.deepcopy(load())
    change(compose["services"])
    return compose


def _set(mapping: dict[str, Any], key: str, value: Any) -> None:
    mapping[key] = value


BREAKAGES = [
    (settings_problems, lambda s: _set(s["intake"], "environment", {**s["intake"]["environment"],
                                                                     "APPEAL_HTTP_PROT": "8000"}),
     "intake: APPEAL_HTTP_PROT is not a setting"),
    (pin_problems, lambda s: _set(s["postgres"], "image", "postgres:16"), "postgres: image postgres:16 is not pinned"),
    (pin_problems, lambda s: _set(s["grafana"], "image", "grafana/grafana:latest"), "grafana/grafana:latest"),
    (pin_problems, lambda s: _set(s["gateway"], "image", "nginx"), "gateway: image nginx is not pinned"),
    (appeal_image_problems, lambda s: _set(s["claim"], "image", "appeal-loop:latest"),
     "claim: image appeal-loop:latest"),
    (healthcheck_problems, lambda s: s["prometheus"].pop("healthcheck"), "prometheus: no healthcheck"),
    (healthcheck_problems, lambda s: _set(s["sla"], "healthcheck", {"disable": True}), "sla: healthcheck disabled"),
    (probe_port_problems, lambda s: _set(s["grafana"], "healthcheck", {"test": [
        "CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3001/api/health"]}),
     "grafana: probes port 3001 but listens on 3000"),
    (probe_port_problems, lambda s: _set(s["dispatch"], "environment", {**s["dispatch"]["environment"],
                                                                         "APPEAL_HTTP_PORT": "8001"}),
     "dispatch: probes port 8000 but listens on 8001"),
    (liveness_problems, lambda s: _set(s["feedback"], "healthcheck", {"test": [
        "CMD", "python", "-c", "urlopen('http://127.0.0.1:8000/readyz')"]}),
     "feedback: its healthcheck probes /readyz"),
    (port_problems, lambda s: _set(s["grafana"], "ports", ["${GRAFANA_PORT:-3000}:3000"]),
     "grafana: port ${GRAFANA_PORT:-3000}:3000 is published beyond this host"),
    (port_problems, lambda s: _set(s["prometheus"], "ports", ["127.0.0.1:9090:9091"]),
     "prometheus: port 127.0.0.1:9090:9091 forwards to 9091"),
    (dependency_problems, lambda s: _set(s["grafana"], "depends_on", {"promethues": {"condition": "service_healthy"}}),
     "grafana: depends on promethues, which is not a service"),
    (dependency_problems, lambda s: _set(s["gateway"], "depends_on", ["intake", "kafak"]),
     "gateway: depends on kafak"),
    (dependency_problems, lambda s: _set(s["intake"], "depends_on", {"migrate": {"condition": "service_healthy"}}),
     "intake: waits for migrate to be healthy, but migrate has no healthcheck"),
    (volume_problems, lambda s: _set(s["prometheus"], "volumes", ["./prometheus-rule.yml:/etc/prometheus/rules/a.yml"]),
     "prometheus: mounts ./prometheus-rule.yml, which is not in deploy/"),
    (database_role_problems, lambda s: _set(s["intake"], "environment", {
        **s["intake"]["environment"], "APPEAL_DATABASE_URL": "postgresql://postgres:${POSTGRES_PASSWORD:?x}@postgres/appeal"}),
     "intake: connects to PostgreSQL as postgres, not appeal"),
    (database_role_problems, lambda s: _set(s["postgres"], "volumes", ["postgres-data:/var/lib/postgresql/data"]),
     "postgres-init.sql is not mounted"),
]


@pytest.mark.parametrize(("rule", "change", "named"), BREAKAGES,
                         ids=[f"{rule.__name__}-{i}" for i, (rule, _, _) in enumerate(BREAKAGES)])
def test_each_rule_names_the_fault_in_a_broken_copy(rule, change, named):
    problems = rule(broken(change))
    assert any(named in problem for problem in problems), problems


def test_a_default_password_or_sample_district_is_named():
    text = COMPOSE.read_text()
    weakened = text.replace("${POSTGRES_PASSWORD:?", "${POSTGRES_PASSWORD:-appeal").replace(
        "${DISTRICT_FILE:?", "${DISTRICT_FILE:-../shared/data/district.yaml")
    problems = default_secret_problems(weakened)
    assert any(p.startswith("${POSTGRES_PASSWORD:-appeal") for p in problems), problems
    assert any(p.startswith("${DISTRICT_FILE:-../shared/data/district.yaml") for p in problems), problems


def test_an_undocumented_required_variable_is_named():
    text = COMPOSE.read_text().replace("${GRAFANA_ADMIN_PASSWORD:?", "${GRAFANA_ROOT_PASSWORD:?")
    assert required_variable_problems(text, README.read_text()) == [
        "GRAFANA_ROOT_PASSWORD is required by the Compose file but deploy/README.md does not mention "
        "`GRAFANA_ROOT_PASSWORD`"]
