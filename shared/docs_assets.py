"""The API documentation pages — ``/docs`` (Swagger UI), ``/redoc`` and ``/asyncapi`` —
with every script, stylesheet and icon served by the system itself, so they render on a
network with no way out.

FastAPI and FastStream point these pages at public CDNs by default. Here the files come
from the npm registry, the one place all three are published by their own authors:
``swagger-ui-dist``, ``redoc`` and ``@asyncapi/react-component``, each pinned to a version
and to the registry's sha512 integrity for that version's tarball (the same check npm's
lockfile makes). ``appeal assets`` downloads the three tarballs, refuses one whose hash
differs, and keeps only the files the pages load, under ``shared/assets/docs/`` (not in
git; ``make`` runs the command when it creates ``.venv``, and so does the container
build). Why not a PyPI package that ships them: fastapi-offline bundles Swagger UI and
Redoc in versions its wheel does not name, no PyPI package ships the AsyncAPI React
component (asyncapi-viewer is a different viewer), and two sources for three packages
would be two ways to break; the npm tarballs are the upstream releases themselves, named
and hashed here.

Beyond the scripts, the pages would still reach out in four places, each closed here:
Redoc's Google Fonts (``with_google_fonts=False``), Swagger UI's validity badge from
validator.swagger.io (``validatorUrl: null``), FastStream's asyncapi.com icons and its
try-it-out plugin (replaced by the local icon; no plugin), and the logo Redoc's menu
always loads from cdn.redoc.ly (a script on ``/redoc`` gives images on other hosts an
empty source). tests/e2e/test_docs_offline.py renders each page in Chromium with every
other host refused and fails on any request that leaves the system.

The versions follow the libraries that write the pages' HTML: FastAPI's default is
``swagger-ui-dist@5`` and ``redoc@2`` (the newest of each below), FastStream 0.7's is
``@asyncapi/react-component@3.1.5``. To move one, change its ``version`` and
``integrity`` (``npm view NAME@VERSION dist.integrity``) and run ``appeal assets``.

Without the files the pages answer 503 with a sentence saying to run ``appeal assets``;
nothing else depends on them, so the system starts either way.
"""

import base64
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from urllib.error import HTTPError

import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from faststream.specification import Specification, get_asyncapi_html
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

log = structlog.get_logger()

ASSETS_DIR = Path(__file__).parent / "assets" / "docs"
URL_PREFIX = "/assets/docs"
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
MANIFEST = "fetched.json"


@dataclass(frozen=True)
class NpmPackage:
    """One pinned npm release and the files of its tarball the pages need, by the name
    they are served under."""

    name: str
    version: str
    integrity: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def folder(self) -> str:
        """Where its files live and the URL path they are served under; the version is in
        it, so a new version is a new URL and browsers may cache each one for good."""
        return f"{self.name.removeprefix('@').replace('/', '-')}-{self.version}"

    def tarball_url(self, registry: str) -> str:
        return f"{registry.rstrip('/')}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"

    def url(self, served_name: str) -> str:
        assert served_name in self.files.values(), served_name
        return f"{URL_PREFIX}/{self.folder}/{served_name}"


SWAGGER_UI = NpmPackage(
    "swagger-ui-dist", "5.35.0",
    "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==",
    {name: name for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE",
                             "swagger-ui-bundle.js.LICENSE.txt")})
REDOC = NpmPackage(
    "redoc", "2.5.4",
    "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==",
    {"bundles/redoc.standalone.js": "redoc.standalone.js", "LICENSE": "LICENSE",
     "bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt"})
ASYNCAPI_REACT = NpmPackage(
    "@asyncapi/react-component", "3.1.5",
    "sha512-Aq4I++uX6lOWxgBn+D7ly/GXasHjVcORz8eIGii8RgFjZ0i8mDth6LjFHb/yHVr3ANxLFLodXUgwEBhcSvfV/Q==",
    {"browser/standalone/index.js": "standalone.js", "styles/default.min.css": "default.min.css",
     "LICENSE": "LICENSE", "browser/standalone/index.js.LICENSE.txt": "standalone.js.LICENSE.txt"})
PACKAGES = (SWAGGER_UI, REDOC, ASYNCAPI_REACT)
FAVICON = SWAGGER_UI.url("favicon-32x32.png")
"""All three pages' icon: none of the others ships one."""


class AssetsError(Exception):
    """A download that failed or did not match its pin; the message says which and why."""


def is_installed(package: NpmPackage, directory: Path = ASSETS_DIR) -> bool:
    """Whether the files of exactly this pinned release are in place."""
    folder = directory / package.folder
    try:
        recorded = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded.get("integrity") == package.integrity and all((folder / f).is_file()
                                                                   for f in package.files.values())


def missing(directory: Path = ASSETS_DIR) -> list[NpmPackage]:
    return [p for p in PACKAGES if not is_installed(p, directory)]


def registry_from_environment() -> str:
    """npm's own setting (``npm_config_registry``, any case), so a mirror configured for
    npm serves here too."""
    return next((value for name, value in os.environ.items() if name.lower() == "npm_config_registry" and value),
                DEFAULT_REGISTRY)


def fetch(directory: Path = ASSETS_DIR, *, registry: str | None = None,
          report: Callable[[str], None] = print) -> list[NpmPackage]:
    """Bring every pinned package's files into ``directory``, skipping those already
    there; remove what earlier pins left. Returns the packages it downloaded."""
    registry = registry or registry_from_environment()
    directory.mkdir(parents=True, exist_ok=True)
    fetched = []
    for package in PACKAGES:
        if is_installed(package, directory):
            report(f"{package.spec}: already in place")
            continue
        tarball = _download(package.tarball_url(registry))
        _check_integrity(package, tarball)
        _unpack(package, tarball, directory)
        fetched.append(package)
        report(f"{package.spec}: {len(tarball) / 1e6:.1f} MB from {registry}, sha512 verified")
    current = {p.folder for p in PACKAGES}
    for stale in directory.iterdir():
        if stale.is_dir() and stale.name not in current:
            shutil.rmtree(stale)
    return fetched


def _download(url: str) -> bytes:
    def once() -> bytes:
        with urllib.request.urlopen(url, timeout=60) as response:
            return bytes(response.read())

    try:
        for attempt in Retrying(stop=stop_after_attempt(3), wait=wait_exponential(min=1, max=8), reraise=True,
                                retry=retry_if_exception(_worth_retrying)):
            with attempt:
                return once()
    except OSError as error:
        raise AssetsError(f"could not download {url}: {error}") from None
    raise AssertionError("unreachable")


def _worth_retrying(error: BaseException) -> bool:
    """A dropped connection or a registry error on its side, not a release that is not there."""
    return isinstance(error, OSError) and not (isinstance(error, HTTPError) and error.code < 500)


def _check_integrity(package: NpmPackage, tarball: bytes) -> None:
    actual = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != package.integrity:
        raise AssetsError(f"{package.spec}: the downloaded tarball's sha512 is {actual}, not the pinned "
                          f"{package.integrity}; refusing it")


def _unpack(package: NpmPackage, tarball: bytes, directory: Path) -> None:
    """Only the named files, written under names chosen here (never a path from the
    archive), into a scratch folder that replaces the package's folder in one rename."""
    scratch = Path(tempfile.mkdtemp(prefix=".fetching-", dir=directory))
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for inside, served_name in package.files.items():
                member = archive.extractfile(f"package/{inside}")
                if member is None:
                    raise AssetsError(f"{package.spec}: package/{inside} is not a file in the tarball")
                (scratch / served_name).write_bytes(member.read())
        (scratch / MANIFEST).write_text(json.dumps({"name": package.name, "version": package.version,
                                                    "integrity": package.integrity}, indent=2) + "\n",
                                        encoding="utf-8")
        scratch.chmod(0o755)  # mkdtemp's 0700 would hide the files from a service's own user
        target = directory / package.folder
        if target.exists():
            shutil.rmtree(target)
        scratch.rename(target)
    except KeyError as error:
        raise AssetsError(f"{package.spec}: {error.args[0]}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def install_docs(app: FastAPI, asyncapi: Callable[[], Specification], *, directory: Path = ASSETS_DIR) -> None:
    """Serve the assets under ``/assets/docs/`` and the three pages on ``app``, which must
    be built with ``docs_url=None, redoc_url=None``."""
    absent = missing(directory)
    if absent:
        log.warning("docs_assets_missing", packages=[p.spec for p in absent], fix="appeal assets")
    served = {f"{p.folder}/{name}": (p, name) for p in PACKAGES for name in p.files.values()}

    @app.get(URL_PREFIX + "/{path:path}", include_in_schema=False)
    async def docs_asset(path: str) -> Response:
        package, name = served.get(path, (None, ""))
        if package is None:
            return PlainTextResponse("no such documentation asset", status_code=404)
        file = directory / package.folder / name
        if not file.is_file():
            return PlainTextResponse(f"{package.spec} is not installed here; run `appeal assets`", status_code=404)
        return FileResponse(file, headers={"Cache-Control": "public, max-age=31536000, immutable"})

    def local(request: Request, path: str) -> str:
        return f"{request.scope.get('root_path', '')}{path}"

    def absent_for(*needed: NpmPackage) -> NpmPackage | None:
        return next((package for package in needed if not is_installed(package, directory)), None)

    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        if package := absent_for(SWAGGER_UI):
            return _not_installed(request, package, openapi_url)
        return get_swagger_ui_html(
            openapi_url=local(request, openapi_url), title=f"{app.title} — Swagger UI",
            swagger_js_url=local(request, SWAGGER_UI.url("swagger-ui-bundle.js")),
            swagger_css_url=local(request, SWAGGER_UI.url("swagger-ui.css")),
            swagger_favicon_url=local(request, FAVICON),
            # Swagger UI would otherwise fetch a validity badge from validator.swagger.io.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None})

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        if package := absent_for(REDOC, SWAGGER_UI):
            return _not_installed(request, package, openapi_url)
        page = get_redoc_html(openapi_url=local(request, openapi_url), title=f"{app.title} — ReDoc",
                              redoc_js_url=local(request, REDOC.url("redoc.standalone.js")),
                              redoc_favicon_url=local(request, FAVICON), with_google_fonts=False)
        return HTMLResponse(bytes(page.body).decode().replace("</head>", _NO_IMAGES_FROM_ELSEWHERE + "</head>", 1))

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page(request: Request) -> HTMLResponse:
        if package := absent_for(ASYNCAPI_REACT, SWAGGER_UI):
            return _not_installed(request, package, "/asyncapi.json")
        # No try-it-out plugin: it would publish to the brokers from the page, and it is one
        # more script from a CDN.
        html = get_asyncapi_html(asyncapi(), asyncapi_js_url=local(request, ASYNCAPI_REACT.url("standalone.js")),
                                 asyncapi_css_url=local(request, ASYNCAPI_REACT.url("default.min.css")),
                                 try_it_out_path=None)
        return HTMLResponse(_local_icon(html, local(request, FAVICON)))


_NO_IMAGES_FROM_ELSEWHERE = """<script>
/* Redoc's menu shows its maker's logo from cdn.redoc.ly, with no option to leave it out. An
   image on another host gets an empty source instead, so no request leaves the page; Redoc's
   error handler then hides it, as it does offline. */
(() => {
  const elsewhere = (url) => {
    const target = new URL(String(url), document.baseURI);
    return /^https?:$/.test(target.protocol) && target.origin !== location.origin;
  };
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    const refused = this instanceof HTMLImageElement && String(name).toLowerCase() === "src" && elsewhere(value);
    return setAttribute.call(this, name, refused ? "data:," : value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src, set(value) { src.set.call(this, elsewhere(value) ? "data:," : value); },
  });
})();
</script>
"""

_ICON_LINK = re.compile(r'\s*<link rel="icon"[^>]*>')


def _local_icon(html: str, icon_url: str) -> str:
    """FastStream's page names asyncapi.com's icons; it gets the local one instead."""
    without = _ICON_LINK.sub("", html)
    return without.replace("<head>", f'<head>\n        <link rel="icon" type="image/png" href="{escape(icon_url)}">', 1)


def _not_installed(request: Request, package: NpmPackage, document: str) -> HTMLResponse:
    document_url = escape(f"{request.scope.get('root_path', '')}{document}")
    return HTMLResponse(f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>API documentation not installed</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem">
<h1>This page's scripts are not installed</h1>
<p>This page runs on {escape(package.spec)} from the npm registry, which this system serves itself
rather than from a CDN, and its files are not installed here.</p>
<p>Run <code>appeal assets</code> where the system is installed: it downloads the pinned packages from
the npm registry and checks their hashes (<code>make</code> runs it when it creates <code>.venv</code>).
Then reload this page; no restart is needed.</p>
<p>The document itself is at <a href="{document_url}">{document_url}</a>.</p>
</body>
</html>
""", status_code=503)
