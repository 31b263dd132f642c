"""The Ansible collections the playbooks use, taken out of the pinned `ansible` release on PyPI.

The roles need one collection (community.docker, for the lab's docker connection), but the
`ansible` package installs about a hundred of them, some 470 MB. Galaxy, where single
collections come from, cannot be reached from the machines this runs on; PyPI can. So
`make venv` downloads the pinned `ansible` wheel (hash-checked by pip), copies out only the
collections `requirements.yml` names, at the versions it pins, checks every file against
the collection's own FILES.json checksums, and installs them where `ansible.cfg` looks
(`.venv/ansible-collections`; `path()` for whichever environment runs).

    python -m playbooks.bundled_collections install [--dest DIR] [--wheel FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from dvc_rollout.errors import EnvironmentProblem, ExitStatus, UsageError, run_command

REQUIREMENTS = Path(__file__).resolve().with_name("requirements.yml")
# The release the collections are taken from, and its wheel's sha256 as PyPI lists it.
BUNDLE = "ansible==12.3.0"
BUNDLE_SHA256 = "cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414"
DIRNAME = "ansible-collections"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Collection:
    """One pinned collection of requirements.yml."""

    namespace: str
    name: str
    version: str

    @property
    def fqcn(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def member(self) -> str:
        """Its folder inside the wheel (and inside a collections path)."""
        return f"ansible_collections/{self.namespace}/{self.name}/"


def path(prefix: Path | None = None) -> Path:
    """Where the collections of this Python environment are installed."""
    return (prefix or Path(sys.prefix)) / DIRNAME


def required(requirements: Path = REQUIREMENTS) -> list[Collection]:
    """The collections requirements.yml pins: `namespace.name` and an exact version each."""
    try:
        data = yaml.safe_load(requirements.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{requirements} cannot be read: {exc}") from None
    entries = data.get("collections") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{requirements}: expected a non-empty `collections:` list")
    found = []
    for i, entry in enumerate(entries):
        fqcn = entry.get("name") if isinstance(entry, dict) else None
        version = entry.get("version") if isinstance(entry, dict) else None
        parts = fqcn.split(".") if isinstance(fqcn, str) else []
        if len(parts) != 2 or not all(p.isidentifier() for p in parts):
            raise UsageError(f"{requirements}: collections[{i}].name: expected namespace.name")
        if not isinstance(version, str) or not version.replace(".", "").isdigit():
            raise UsageError(
                f"{requirements}: collections[{i}].version: pin an exact version such as "
                f'"4.8.5" (got {version!r})'
            )
        found.append(Collection(parts[0], parts[1], version))
    return found


def installed_version(collection: Collection, dest: Path) -> str | None:
    """The version installed under `dest`, from its MANIFEST.json; None if absent."""
    manifest = dest / collection.member / "MANIFEST.json"
    try:
        return str(json.loads(manifest.read_text())["collection_info"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def download_bundle(workdir: Path) -> Path:
    """The pinned `ansible` wheel, through pip (its cache, its index), checked against the hash."""
    pins = workdir / "bundle.txt"
    pins.write_text(f"{BUNDLE} --hash=sha256:{BUNDLE_SHA256}\n")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--only-binary=:all:", "--require-hashes", "-r", str(pins), "-d", str(workdir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(workdir.glob("ansible-*.whl"))
    if done.returncode != 0 or not wheels:
        raise EnvironmentProblem(
            f"could not download {BUNDLE} from PyPI for its Ansible collections "
            f"(pip exit {done.returncode}): {done.stderr.strip()[-500:]}; check the network "
            "or pip's index settings, then run `make venv` again"
        )
    return wheels[0]


def _checksums(bundle: zipfile.ZipFile, collection: Collection) -> dict[str, str]:
    try:
        files = json.loads(bundle.read(collection.member + "FILES.json"))["files"]
        manifest = json.loads(bundle.read(collection.member + "MANIFEST.json"))
    except KeyError:
        raise UsageError(f"{BUNDLE} does not hold the collection {collection.fqcn}") from None
    version = manifest["collection_info"]["version"]
    if version != collection.version:
        raise UsageError(
            f"{REQUIREMENTS.name} pins {collection.fqcn} {collection.version}, but {BUNDLE} "
            f"holds {version}: pin {version}, or change BUNDLE in {Path(__file__).name}"
        )
    return {f["name"]: f["chksum_sha256"] for f in files if f["ftype"] == "file"}


def extract(wheel: Path, collection: Collection, dest: Path) -> int:
    """Copy one collection out of the wheel into `dest`, every file checked; returns the count.

    Written beside its final place and renamed into it, so an interrupted install never
    leaves half a collection where Ansible looks.
    """
    target = dest / collection.member
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as bundle:
        sums = _checksums(bundle, collection)
        staging = Path(tempfile.mkdtemp(prefix=f".{collection.name}-", dir=target.parent))
        try:
            count = 0
            for info in bundle.infolist():
                if not info.filename.startswith(collection.member) or info.is_dir():
                    continue
                relative = PurePosixPath(info.filename[len(collection.member) :])
                if relative.is_absolute() or ".." in relative.parts:
                    raise UsageError(f"{wheel.name}: unsafe member name {info.filename!r}")
                data = bundle.read(info)
                want = sums.get(str(relative))
                if want is not None and hashlib.sha256(data).hexdigest() != want:
                    raise UsageError(
                        f"{wheel.name}: {info.filename} does not match the checksum in "
                        f"{collection.fqcn}'s FILES.json: the download is damaged, delete "
                        "pip's cache (`pip cache purge`) and run `make venv` again"
                    )
                out = staging.joinpath(*relative.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                count += 1
            old = target.with_name(f".{collection.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return count


def install(
    dest: Path | None = None,
    requirements: Path = REQUIREMENTS,
    wheel: Path | None = None,
    say: Say = print,
) -> list[Collection]:
    """Install every pinned collection not already there at its version; returns those installed."""
    dest = dest or path()
    wanted = [c for c in required(requirements) if installed_version(c, dest) != c.version]
    if not wanted:
        say(f"collections: {', '.join(c.fqcn for c in required(requirements))} up to date")
        return []
    with tempfile.TemporaryDirectory(prefix="dvc-ansible-bundle-") as tmp:
        source = wheel or download_bundle(Path(tmp))
        for collection in wanted:
            count = extract(source, collection, dest)
            say(
                f"collections: {collection.fqcn} {collection.version} ({count} files) from {BUNDLE}"
            )
    return wanted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m playbooks.bundled_collections",
        description="Install the pinned Ansible collections out of the pinned ansible release.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("install", help="install what requirements.yml pins")
    cmd.add_argument("--dest", type=Path, help=f"collections path (default: {path()})")
    cmd.add_argument("--wheel", type=Path, help=f"an already downloaded {BUNDLE} wheel")
    args = parser.parse_args(argv)

    def body() -> int:
        install(args.dest, wheel=args.wheel)
        return ExitStatus.OK

    return run_command("collections", body)


if __name__ == "__main__":
    sys.exit(main())
