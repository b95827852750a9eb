"""Take files out of packages published on PyPI or npm: the only places models and sample
media may come from (no model hubs). Archives are pinned by file name and sha256 and cached."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DEFAULT_INDEX = "https://pypi.org/simple"
DEFAULT_NPM_REGISTRY = "https://registry.npmjs.org"


class FetchError(RuntimeError):
    """An artefact could not be fetched or failed its checksum."""


@dataclass(frozen=True)
class PyPIArchive:
    """A file inside a wheel or sdist on PyPI (downloaded, checked, then unpacked)."""

    package: str
    filename: str
    sha256: str

    def describe(self) -> str:
        return f"PyPI {self.filename}"


@dataclass(frozen=True)
class NpmArchive:
    """A file inside a package tarball on the npm registry (downloaded, checked, then unpacked).

    ``filename`` is the tarball's name as the registry serves it (``face-api-1.7.15.tgz``
    for ``@vladmandic/face-api`` 1.7.15); members sit under ``package/``.
    """

    package: str
    filename: str
    sha256: str

    def describe(self) -> str:
        return f"npm {self.package} {self.filename}"


Archive = PyPIArchive | NpmArchive


@dataclass(frozen=True)
class InstalledPackage:
    """A file inside a package this environment installed from PyPI (pinned in uv.lock)."""

    package: str

    def describe(self) -> str:
        try:
            return f"PyPI {self.package}=={metadata.version(self.package)} (installed)"
        except metadata.PackageNotFoundError:
            return f"PyPI {self.package} (not installed)"


@dataclass(frozen=True)
class Artefact:
    """One pinned file (a model or a sample) and where it comes from."""

    name: str
    source: PyPIArchive | NpmArchive | InstalledPackage
    member: str
    sha256: str
    licence: str
    purpose: str

    @property
    def filename(self) -> str:
        return self.member.rsplit("/", 1)[-1]


class ArtefactCache:
    """A folder of verified artefacts with a manifest of where each came from and its licence."""

    def __init__(self, folder: Path, artefacts: dict[str, Artefact], fetch_command: str) -> None:
        self.folder = Path(folder).expanduser()
        self.artefacts = artefacts
        self.fetch_command = fetch_command
        self.downloads = self.folder.parent / "downloads"
        self.manifest_path = self.folder / "manifest.json"

    def path(self, name: str) -> Path:
        return self.folder / self.artefacts[name].filename

    def is_valid(self, name: str) -> bool:
        path = self.path(name)
        return path.is_file() and sha256_of(path) == self.artefacts[name].sha256

    def fetch(self, name: str) -> Path:
        spec = self.artefacts[name]
        if self.is_valid(name):
            return self.path(name)
        path = extract(spec.source, spec.member, self.path(name), spec.sha256, self.downloads)
        manifest = self._manifest()
        manifest[name] = {"file": spec.filename, "sha256": spec.sha256, "licence": spec.licence,
                          "source": f"{spec.source.describe()}: {spec.member}",
                          "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return path

    def require(self, name: str, fetch_on_demand: bool = True) -> Path:
        """The path of a verified file, fetched first when missing and allowed; FetchError names the fix."""
        if name not in self.artefacts:
            raise KeyError(f"unknown name {name!r}; known: {', '.join(self.artefacts)}")
        if self.is_valid(name):
            return self.path(name)
        if not fetch_on_demand:
            raise FetchError(f"{name} is not in {self.folder}: run `{self.fetch_command}`")
        try:
            return self.fetch(name)
        except FetchError as exc:
            raise FetchError(f"{name} is not in {self.folder} and fetching it failed ({exc}); "
                             f"run `{self.fetch_command}` on a machine that reaches PyPI") from None

    def status(self) -> list[dict]:
        manifest = self._manifest()
        rows = []
        for spec in self.artefacts.values():
            path = self.path(spec.name)
            present = path.is_file()
            rows.append({
                "name": spec.name, "file": spec.filename, "present": present,
                "verified": present and sha256_of(path) == spec.sha256,
                "bytes": path.stat().st_size if present else 0, "licence": spec.licence,
                "source": f"{spec.source.describe()}: {spec.member}", "purpose": spec.purpose,
                "fetched_at": manifest.get(spec.name, {}).get("fetched_at"),
            })
        return rows

    def _manifest(self) -> dict:
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return {}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def extract(source: PyPIArchive | NpmArchive | InstalledPackage, member: str, dest: Path, sha256: str, downloads: Path) -> Path:
    """Place ``member`` of ``source`` at ``dest`` if its sha256 matches; raise FetchError otherwise."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        if isinstance(source, InstalledPackage):
            _copy_installed(source.package, member, tmp_path)
        else:
            _extract_member(download(source, downloads), member, tmp_path)
        actual = sha256_of(tmp_path)
        if actual != sha256:
            raise FetchError(f"{member} from {source.describe()}: sha256 {actual} does not match the pinned {sha256}")
        os.replace(tmp_path, dest)
        return dest
    finally:
        tmp_path.unlink(missing_ok=True)


def download(archive: Archive, downloads: Path) -> Path:
    """Download a pinned archive from its registry once, verifying its sha256."""
    target = downloads / archive.filename
    if target.exists() and sha256_of(target) == archive.sha256:
        return target
    downloads.mkdir(parents=True, exist_ok=True)
    url = _npm_tarball_url(archive) if isinstance(archive, NpmArchive) else _archive_url(archive)
    tmp = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=120) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        raise FetchError(f"cannot download {archive.filename} from {url}: {exc}") from None
    if sha256_of(tmp) != archive.sha256:
        tmp.unlink()
        raise FetchError(f"{archive.filename}: downloaded file does not match the pinned sha256")
    os.replace(tmp, target)
    return target


def _index_url() -> str:
    return (os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX).rstrip("/")


def _npm_registry_url() -> str:
    return (os.environ.get("NPM_CONFIG_REGISTRY") or os.environ.get("npm_config_registry") or DEFAULT_NPM_REGISTRY).rstrip("/")


def _npm_tarball_url(archive: NpmArchive) -> str:
    """The registry's tarball address: ``<registry>/<package>/-/<filename>`` (scoped names keep their ``@scope/``)."""
    return f"{_npm_registry_url()}/{archive.package}/-/{urllib.parse.quote(archive.filename)}"


def _archive_url(archive: PyPIArchive) -> str:
    """Find the archive's URL through the PEP 691 JSON simple API of the configured index."""
    request = urllib.request.Request(f"{_index_url()}/{archive.package}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response)["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise FetchError(f"cannot list {archive.package} on {_index_url()}: {exc}") from None
    for entry in files:
        if entry["filename"] == archive.filename:
            if entry.get("hashes", {}).get("sha256", archive.sha256) != archive.sha256:
                raise FetchError(f"the index lists {archive.filename} with a different sha256 than the pinned one")
            return urllib.parse.urljoin(f"{_index_url()}/{archive.package}/", entry["url"])
    raise FetchError(f"{archive.filename} is not on {_index_url()}")


def _extract_member(archive_path: Path, member: str, dest: Path) -> None:
    try:
        if archive_path.name.endswith(".whl") or archive_path.name.endswith(".zip"):
            with zipfile.ZipFile(archive_path) as zf, zf.open(member) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            with tarfile.open(archive_path) as tf:
                src = tf.extractfile(member)
                if src is None:
                    raise KeyError(member)
                with src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
    except KeyError:
        raise FetchError(f"{member} is not in {archive_path.name}") from None


def _copy_installed(package: str, member: str, dest: Path) -> None:
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise FetchError(f"package {package} is not installed (reinstall vidsentry with `uv sync`)") from None
    source = Path(dist.locate_file(member))
    if not source.is_file():
        raise FetchError(f"{member} is missing from the installed {package}")
    shutil.copyfile(source, dest)
