"""`appeal assets`: pinned npm tarballs, checked against their sha512, unpacked to the few
files the documentation pages load. No network: the download is replaced."""

import base64
import hashlib
import io
import json
import tarfile

import pytest

from shared import docs_assets
from shared.docs_assets import ASYNCAPI_REACT, AssetsError, NpmPackage, fetch, is_installed


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def viewer(monkeypatch) -> tuple[NpmPackage, list[str]]:
    """A pinned package 'viewer' whose tarball the fake registry serves; the URLs asked for."""
    data = tarball({"package/dist/viewer.js": b"window.Viewer = {};", "package/LICENSE": b"MIT",
                    "package/../outside.js": b"not wanted", "package/dist/viewer.js.map": b"{}"})
    package = NpmPackage("@demo/viewer", "1.2.3", integrity(data),
                         {"dist/viewer.js": "viewer.js", "LICENSE": "LICENSE"})
    asked: list[str] = []

    def download(url: str) -> bytes:
        asked.append(url)
        return data

    monkeypatch.setattr(docs_assets, "PACKAGES", (package,))
    monkeypatch.setattr(docs_assets, "_download", download)
    return package, asked


def test_fetch_keeps_the_named_files_of_the_pinned_release(tmp_path, viewer):
    package, asked = viewer
    (tmp_path / "demo-viewer-1.0.0").mkdir()

    fetch(tmp_path, registry="https://registry.example/", report=lambda line: None)

    assert asked == ["https://registry.example/@demo/viewer/-/viewer-1.2.3.tgz"]
    folder = tmp_path / "demo-viewer-1.2.3"
    assert sorted(p.name for p in folder.iterdir()) == ["LICENSE", "fetched.json", "viewer.js"]
    assert (folder / "viewer.js").read_bytes() == b"window.Viewer = {};"
    assert json.loads((folder / "fetched.json").read_text())["integrity"] == package.integrity
    assert is_installed(package, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["demo-viewer-1.2.3"], "an earlier pin's files were left"
    assert not (tmp_path.parent / "outside.js").exists()


def test_a_second_fetch_downloads_nothing(tmp_path, viewer):
    _, asked = viewer
    fetch(tmp_path, registry="https://registry.example/", report=lambda line: None)
    lines: list[str] = []
    fetch(tmp_path, registry="https://registry.example/", report=lines.append)
    assert len(asked) == 1
    assert lines == ["@demo/viewer@1.2.3: already in place"]


def test_a_tarball_whose_sha512_differs_is_refused_and_nothing_is_kept(tmp_path, monkeypatch, viewer):
    package, _ = viewer
    monkeypatch.setattr(docs_assets, "_download", lambda url: tarball({"package/dist/viewer.js": b"evil()"}))
    with pytest.raises(AssetsError, match="sha512"):
        fetch(tmp_path, registry="https://registry.example/", report=lambda line: None)
    assert not is_installed(package, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_missing_from_the_tarball_is_named(tmp_path, monkeypatch):
    data = tarball({"package/LICENSE": b"MIT"})
    package = NpmPackage("viewer", "1.0.0", integrity(data), {"dist/viewer.js": "viewer.js"})
    monkeypatch.setattr(docs_assets, "PACKAGES", (package,))
    monkeypatch.setattr(docs_assets, "_download", lambda url: data)
    with pytest.raises(AssetsError, match="dist/viewer.js"):
        fetch(tmp_path, report=lambda line: None)
    assert list(tmp_path.iterdir()) == []


def test_scoped_packages_use_the_registrys_tarball_path():
    assert ASYNCAPI_REACT.tarball_url("https://registry.npmjs.org/") == \
        "https://registry.npmjs.org/@asyncapi/react-component/-/react-component-3.1.5.tgz"
    assert ASYNCAPI_REACT.url("standalone.js") == "/assets/docs/asyncapi-react-component-3.1.5/standalone.js"
