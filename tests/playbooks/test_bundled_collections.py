"""Only the collections the roles use, pinned, copied out of the `ansible` release and checked."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dvc_rollout.errors import UsageError
from playbooks import bundled_collections as bundled
from playbooks.inventory import DOCKER_CONNECTION

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
# `namespace.collection.plugin:` as a task's module or an include.
FQCN = re.compile(r"^\s*-?\s*([a-z_]+\.[a-z_]+)\.[a-z_]+:", re.MULTILINE)
DOCKER = bundled.Collection("community", "docker", "4.8.5")


def _wheel(tmp_path: Path, version: str = "4.8.5", tamper: bool = False, extra: str = "") -> Path:
    """A wheel laid out as `ansible`'s: the collection's files, FILES.json and MANIFEST.json."""
    files = {"plugins/connection/docker.py": b"# the connection\n", "README.md": b"readme\n"}
    listing = [
        {
            "name": name,
            "ftype": "file",
            "chksum_type": "sha256",
            "chksum_sha256": hashlib.sha256(data).hexdigest(),
            "format": 1,
        }
        for name, data in files.items()
    ]
    manifest = {"collection_info": {"namespace": "community", "name": "docker", "version": version}}
    path = tmp_path / "ansible-12.3.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(DOCKER.member + name, data + (b"tampered" if tamper else b""))
        wheel.writestr(DOCKER.member + "FILES.json", json.dumps({"files": listing}))
        wheel.writestr(DOCKER.member + "MANIFEST.json", json.dumps(manifest))
        wheel.writestr("ansible_collections/community/general/plugins/x.py", "not wanted\n")
        if extra:
            wheel.writestr(extra, "escape\n")
    return path


def test_the_roles_use_only_builtins_and_the_pinned_collections() -> None:
    pinned = {c.fqcn for c in bundled.required()}
    used = {
        match
        for yml in PLAYBOOKS.rglob("*.yml")
        if "ansible-collections" not in yml.parts
        for match in FQCN.findall(yml.read_text(encoding="utf-8"))
    }
    assert "ansible.builtin" in used
    assert used - {"ansible.builtin"} <= pinned
    assert DOCKER_CONNECTION.rsplit(".", 1)[0] in pinned
    assert pinned == {"community.docker"}


def test_install_copies_only_the_pinned_collection_and_then_has_nothing_to_do(
    tmp_path: Path,
) -> None:
    wheel, dest = _wheel(tmp_path), tmp_path / "collections"
    said: list[str] = []
    assert bundled.install(dest, wheel=wheel, say=said.append) == [DOCKER]
    root = dest / "ansible_collections"
    assert sorted(p.name for p in root.iterdir()) == ["community"]
    assert sorted(p.name for p in (root / "community").iterdir()) == ["docker"]
    assert (root / "community/docker/plugins/connection/docker.py").read_bytes() == (
        b"# the connection\n"
    )
    assert bundled.installed_version(DOCKER, dest) == "4.8.5"
    assert bundled.install(dest, wheel=wheel, say=said.append) == []
    assert said[-1] == "collections: community.docker up to date"


def test_a_version_the_bundle_does_not_hold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"pins community\.docker 4\.8\.5, but .* holds 4\.9\.0"):
        bundled.install(tmp_path / "c", wheel=_wheel(tmp_path, version="4.9.0"))
    assert not (tmp_path / "c" / DOCKER.member).exists()


def test_a_file_that_does_not_match_its_checksum_is_refused_and_nothing_installed(
    tmp_path: Path,
) -> None:
    with pytest.raises(UsageError, match=r"does not match the checksum in community\.docker"):
        bundled.install(tmp_path / "c", wheel=_wheel(tmp_path, tamper=True))
    assert list((tmp_path / "c" / "ansible_collections/community").iterdir()) == []


def test_a_member_that_climbs_out_of_the_collection_is_refused(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, extra=DOCKER.member + "../../../../evil.py")
    with pytest.raises(UsageError, match="unsafe member name"):
        bundled.install(tmp_path / "c", wheel=wheel)
    assert not (tmp_path / "evil.py").exists()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{name: community.docker, version: ">=4.0"}', "pin an exact version"),
        ("{name: docker, version: 4.8.5}", "expected namespace.name"),
        ("{version: 4.8.5}", "expected namespace.name"),
    ],
)
def test_requirements_must_pin_exact_versions(tmp_path: Path, entry: str, message: str) -> None:
    requirements = tmp_path / "requirements.yml"
    requirements.write_text(f"collections:\n  - {entry}\n")
    with pytest.raises(UsageError, match=message):
        bundled.required(requirements)


def test_ansible_finds_the_docker_connection_in_the_installed_collections() -> None:
    assert bundled.installed_version(DOCKER, bundled.path()) == DOCKER.version, "run `make venv`"
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(bundled.path()),
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-doc"),
            "-t",
            "connection",
            "--json",
            DOCKER_CONNECTION,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)[DOCKER_CONNECTION]["doc"]["filename"]
    assert found.startswith(str(bundled.path()))
