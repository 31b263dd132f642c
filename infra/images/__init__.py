"""Build the lab's container images locally, tagged by their content.

No container registry is reachable, so every image starts from a Debian bookworm
root filesystem made with debootstrap and `docker import`, and each component is
built from `infra/images/<name>/Dockerfile` on top of it. A tag is a hash of
everything that goes into the image, so an unchanged image is never rebuilt and a
changed file always yields a new tag (the Pulumi program then replaces exactly the
containers whose image changed).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from dvc_rollout.errors import DvcRolloutError, EnvironmentProblem, UsageError

IMAGES_DIR = Path(__file__).resolve().parent
REPO_ROOT = IMAGES_DIR.parent.parent
CACHE_DIR = Path(os.environ.get("DVC_IMAGE_CACHE", "/var/cache/dvc-rollout"))
REPOSITORY = "dvc-rollout"

IMAGES: tuple[str, ...] = (
    "base",
    "postgres",
    "kannel",
    "smsc-sim",
    "portal",
    "nginx",
    "prometheus",
    "alertmanager",
    "webhook",
    "smtp",
    "ntp",
    "terminal",
    "exporter",
    "registry",
)

# The container health command of each image (the contract's; run with `sh -c`).
# The exporter's depends on the port its command listens on:
# curl -fsS http://127.0.0.1:<port>/-/healthy
HEALTH_COMMANDS: dict[str, str] = {
    "postgres": 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
    "kannel": 'curl -fsS "http://127.0.0.1:13000/status.xml?password=$KANNEL_STATUS_PASSWORD"'
    ' | grep -q "<status>running"',
    "smsc-sim": "curl -fsS http://127.0.0.1:13080/healthz",
    "portal": "curl -fsS http://127.0.0.1:8080/healthz",
    "nginx": "curl -fsS http://127.0.0.1/nginx-health",
    "prometheus": "curl -fsS http://127.0.0.1:9090/-/ready",
    "alertmanager": "curl -fsS http://127.0.0.1:9093/-/ready",
    "webhook": "curl -fsS http://127.0.0.1:9095/healthz",
    "smtp": "curl -fsS http://127.0.0.1:9025/healthz",
    "ntp": "chronyc tracking",
    "terminal": 'lpstat -r | grep -q "scheduler is running"',
    "registry": "curl -fsS http://127.0.0.1:5000/v2/",
}

# Project files an image carries besides its own folder (repo-relative paths).
LABHTTP = "infra/images/labhttp/labhttp.py"  # the stand-ins' shared HTTP plumbing
EXTRA_CONTEXT: dict[str, tuple[str, ...]] = {
    "exporter": (
        "exporters",
        "inventory",
        "dvc_rollout/__init__.py",
        "dvc_rollout/errors.py",
        "dvc_rollout/argtypes.py",  # the exporters' flags are checked by it (stdlib only)
        # The readiness exporter reads the results store through its own read API and
        # judges sites on the full check set (read from checks/terminal's sources).
        "dvc_rollout/statedir.py",
        "checks/__init__.py",
        "checks/results.py",
        "checks/checkset.py",
        "checks/readiness.py",
        "checks/terminal",
    ),
    "portal": (LABHTTP,),
    "smsc-sim": (LABHTTP,),
    "webhook": (LABHTTP,),
    "smtp": (LABHTTP,),
}
# Python distributions copied from the project's pinned environment into an image
# because Debian bookworm lacks them at the needed version (pydantic 2 for `inventory`).
# They must be built for the image's Python (bookworm's python3), whichever Python runs
# this code: from another one, pip fetches the same pinned versions for it (_vendor_root).
IMAGE_PYTHON = (3, 11)
VENDORED: dict[str, tuple[str, ...]] = {
    "exporter": (
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_inspection",
        "typing_extensions",
    ),
}

ROOTFS_SCRIPT = IMAGES_DIR / "base" / "rootfs.sh"
_SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
_TAIL_LINES = 40

Progress = Callable[[str], None]


class ImageBuildError(DvcRolloutError):
    """An image failed to build; the message names it and shows the end of its log."""


def _included(path: Path) -> bool:
    return not (_SKIPPED_PARTS & set(path.parts)) and path.suffix != ".pyc"


def _tree(root: Path, arc_prefix: str) -> Iterator[tuple[str, Path]]:
    if root.is_file():
        yield arc_prefix, root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and _included(path.relative_to(root)):
            yield f"{arc_prefix}/{path.relative_to(root).as_posix()}".lstrip("/"), path


def _writable_cache() -> Path:
    return CACHE_DIR if os.access(CACHE_DIR.parent, os.W_OK) else Path("/tmp")


def _vendor_root(names: Iterable[str], python: tuple[int, int]) -> Path | None:
    """Where an image's vendored packages come from: None for this environment's own (it
    runs the image's Python), else a folder pip fills once with the same pinned versions
    built for the image's Python and this machine's architecture."""
    if python == IMAGE_PYTHON:
        return None
    owners = importlib.metadata.packages_distributions()
    pins = sorted(
        f"{dist}=={importlib.metadata.version(dist)}"
        for dist in {owners.get(name, [name])[0] for name in names}
    )
    wanted = f"cp{IMAGE_PYTHON[0]}{IMAGE_PYTHON[1]} {platform.machine()} {' '.join(pins)}"
    root = _writable_cache() / f"vendor-{hashlib.sha256(wanted.encode()).hexdigest()[:12]}"
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".vendor-", dir=root.parent))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target"]
    command += [str(staging), "--only-binary=:all:", "--implementation", "cp", "--python-version"]
    command += [f"{IMAGE_PYTHON[0]}.{IMAGE_PYTHON[1]}", "--platform"]
    command += [f"manylinux2014_{platform.machine()}", *pins]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise EnvironmentProblem(
            f"pip could not fetch {', '.join(pins)} for Python "
            f"{IMAGE_PYTHON[0]}.{IMAGE_PYTHON[1]}, which the exporter image runs: "
            f"{done.stderr.strip()[-400:]}"
        )
    try:
        staging.rename(root)
    except OSError:  # another process got there first
        shutil.rmtree(staging, ignore_errors=True)
    return root


def _vendored_paths(dist: str, root: Path | None = None) -> Path:
    if root is not None:
        found = root / dist if (root / dist).is_dir() else root / f"{dist}.py"
        if not found.exists():
            raise EnvironmentProblem(f"{dist!r} is missing from {root}: delete it and retry")
        return found
    spec = importlib.util.find_spec(dist)
    if spec is None or spec.origin is None:
        raise EnvironmentProblem(
            f"the {dist!r} package is not installed in this Python environment, "
            "and the exporter image carries it: run `make venv` and use .venv/bin/python"
        )
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


def context_files(
    name: str, python: tuple[int, int] = (sys.version_info.major, sys.version_info.minor)
) -> list[tuple[str, Path]]:
    """Every file of an image's build context as (name inside the context, path).

    The list is sorted and is both what gets hashed into the tag and what gets sent
    to the engine, so the tag can never miss a file the image depends on. `python` is
    the Python running this code (whose packages are vendored when it is the image's).
    """
    if name not in IMAGES:
        raise UsageError(f"unknown image {name!r}: choose from {', '.join(IMAGES)}")
    folder = IMAGES_DIR / name
    files = list(_tree(folder, ""))
    for rel in EXTRA_CONTEXT.get(name, ()):
        if (REPO_ROOT / rel).exists():
            files.extend(_tree(REPO_ROOT / rel, rel))
    vendored = VENDORED.get(name, ())
    root = _vendor_root(vendored, python) if vendored else None
    for dist in vendored:
        path = _vendored_paths(dist, root)
        files.extend(_tree(path, f"vendor/{path.name}"))
    return sorted(files)


def _rootfs_digest() -> str:
    return hashlib.sha256(ROOTFS_SCRIPT.read_bytes()).hexdigest()[:12]


def image_tag(name: str) -> str:
    """The content tag `dvc-rollout/<name>:<12 hex>` of an image; pure, no Docker call.

    The hash covers the image name, every context file (path and bytes) and, for the
    components, the base tag, so rebuilding the base moves every tag with it.
    """
    digest = hashlib.sha256(name.encode())
    for arcname, path in context_files(name):
        digest.update(b"\0file\0" + arcname.encode() + b"\0")
        digest.update(path.read_bytes())
    digest.update(b"\0base\0" + (image_tag("base") if name != "base" else "").encode())
    return f"{REPOSITORY}/{name}:{digest.hexdigest()[:12]}"


def reference(name: str, registry: str = "") -> str:
    """How a Docker host names the image: its content tag, behind the registry if any."""
    tag = image_tag(name)
    return f"{registry}/{tag}" if registry else tag


def rootfs_tag() -> str:
    """Tag of the imported debootstrap root filesystem the base Dockerfile starts from."""
    return f"{REPOSITORY}/rootfs:{_rootfs_digest()}"


def docker_client() -> Any:
    """A client of this machine's engine, where images are built; it must answer."""
    import docker

    try:
        client = docker.from_env(timeout=900)
        client.ping()
    except Exception as exc:
        raise EnvironmentProblem(
            f"the Docker engine does not answer ({exc}): run `bash infra/engine.sh ensure` "
            "(it installs and starts dockerd when run as root), then try again"
        ) from exc
    return client


def _exists(client: Any, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _make_rootfs_tarball(progress: Progress) -> Path:
    tarball = CACHE_DIR / f"rootfs-bookworm-minbase-{_rootfs_digest()}.tar"
    if tarball.exists():
        progress(f"rootfs: using cached {tarball}")
        return tarball
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "making the base image needs root (debootstrap): run the build as root, "
            f"or place a rootfs tarball at {tarball}"
        )
    if shutil.which("debootstrap") is None:
        raise EnvironmentProblem(
            "debootstrap is not installed: run `python3 infra/debian_packages.py ensure lab` "
            "(the lab's Debian packages) and try again"
        )
    progress("rootfs: debootstrap --variant=minbase bookworm (a few minutes the first time)")
    result = subprocess.run(
        ["bash", str(ROOTFS_SCRIPT), str(tarball)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-_TAIL_LINES:])
        raise ImageBuildError(
            f"debootstrap of the base root filesystem failed (exit {result.returncode}); "
            f"check that http://deb.debian.org answers, then run the build again.\n"
            f"--- last lines of the log ---\n{tail}"
        )
    return tarball


def _import_rootfs(client: Any, progress: Progress) -> str:
    tag = rootfs_tag()
    if _exists(client, tag):
        return tag
    tarball = _make_rootfs_tarball(progress)
    repository, _, version = tag.partition(":")
    progress(f"rootfs: docker import {tarball.name} as {tag}")
    client.api.import_image_from_file(
        str(tarball), repository=repository, tag=version, changes=['CMD ["bash"]']
    )
    if not _exists(client, tag):
        raise ImageBuildError(
            f"docker import of {tarball} did not produce {tag}: see dockerd's log"
        )
    return tag


def _context_tar(name: str) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for arcname, path in context_files(name):
            info = tar.gettarinfo(str(path), arcname)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    buffer.seek(0)
    return buffer


def _build_one(client: Any, name: str, tag: str, base: str, progress: Progress) -> str:
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    progress(f"{name}: building {tag}")
    error: str | None = None
    try:
        stream = client.api.build(
            fileobj=_context_tar(name),
            custom_context=True,
            tag=tag,
            buildargs={"BASE": base},
            rm=True,
            forcerm=True,
            pull=False,
            labels={"dvc-rollout.image": name},
            decode=True,
        )
        for chunk in stream:
            text = chunk.get("stream") or chunk.get("status") or ""
            for line in str(text).splitlines():
                tail.append(line)
                if line.startswith("Step "):
                    progress(f"{name}: {line}")
            if "error" in chunk:
                error = str(chunk.get("error", "")).strip()
                tail.append(error)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error is None and not _exists(client, tag):
        error = "the engine finished without producing the tag"
    if error is not None:
        log = "\n".join(tail)
        raise ImageBuildError(
            f"building image {name!r} ({tag}) failed: {error}\n"
            f"Fix infra/images/{name}/ and build again.\n"
            f"--- last lines of the build log ---\n{log}"
        )
    progress(f"{name}: built {tag}")
    return tag


def _ordered(names: Iterable[str] | None) -> list[str]:
    wanted = list(IMAGES) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in IMAGES]
    if unknown:
        raise UsageError(f"unknown image(s) {', '.join(unknown)}: choose from {', '.join(IMAGES)}")
    return wanted


class _BuildLock:
    """Serialise builds across processes (CLI, test workers) so none duplicates work."""

    def __init__(self) -> None:
        self._handle: io.TextIOWrapper | None = None

    def __enter__(self) -> _BuildLock:
        lock_dir = _writable_cache()
        lock_dir.mkdir(parents=True, exist_ok=True)
        self._handle = (lock_dir / "build.lock").open("w")
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()


def build(
    names: Iterable[str] | None = None, *, progress: Progress | None = None
) -> dict[str, str]:
    """Build the named images (all by default) that are missing; return name -> tag.

    The base image is built first when any requested image needs it. Tags that
    already exist locally are skipped, so a second run is a cheap no-op.
    """
    wanted = _ordered(names)
    say: Progress = progress or (lambda _line: None)
    client = docker_client()
    tags: dict[str, str] = {}
    with _BuildLock():
        base = image_tag("base")
        if not _exists(client, base):
            _build_one(client, "base", base, _import_rootfs(client, say), say)
        for name in wanted:
            # Tag and build context are taken together, so the tag returned is the one built.
            tag = base if name == "base" else image_tag(name)
            if name == "base" or _exists(client, tag):
                say(f"{name}: {tag} is up to date")
            else:
                _build_one(client, name, tag, base, say)
            tags[name] = tag
    return tags


def main(argv: list[str] | None = None) -> int:
    """`python -m infra.images [names...]`: build and print name -> tag."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.images", description="Build the lab's container images."
    )
    parser.add_argument("names", nargs="*", help=f"images to build (default: all of {IMAGES})")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only name -> tag")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        tags = build(args.names or None, progress=None if args.quiet else say)
    except DvcRolloutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for name, tag in tags.items():
        print(f"{name}\t{tag}")
    return 0
