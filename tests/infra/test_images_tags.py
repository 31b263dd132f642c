"""The content tag decides whether an image is rebuilt, so it must be stable and exact."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dvc_rollout.errors import UsageError
from infra import images

TAG = re.compile(r"^dvc-rollout/(?P<name>[a-z-]+):(?P<hex>[0-9a-f]{12})$")


@pytest.fixture
def image_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of infra/images so a test can edit files without touching the repo."""
    copy = tmp_path / "images"
    shutil.copytree(images.IMAGES_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(images, "IMAGES_DIR", copy)
    monkeypatch.setattr(images, "ROOTFS_SCRIPT", copy / "base" / "rootfs.sh")
    return copy


@pytest.mark.parametrize("name", images.IMAGES)
def test_every_image_has_a_dockerfile_from_the_base_arg(name: str) -> None:
    dockerfile = (images.IMAGES_DIR / name / "Dockerfile").read_text()
    assert "ARG BASE" in dockerfile
    assert "FROM ${BASE}" in dockerfile


@pytest.mark.parametrize("name", images.IMAGES)
def test_tag_names_the_image_and_is_deterministic(name: str) -> None:
    tag = images.image_tag(name)
    match = TAG.match(tag)
    assert match is not None and match["name"] == name
    assert images.image_tag(name) == tag


def test_tags_differ_between_images() -> None:
    tags = {images.image_tag(name) for name in images.IMAGES}
    assert len({tag.split(":")[1] for tag in tags}) == len(images.IMAGES)


def test_editing_a_file_changes_only_that_images_tag(image_tree: Path) -> None:
    before = {name: images.image_tag(name) for name in images.IMAGES}
    with (image_tree / "nginx" / "Dockerfile").open("a") as handle:
        handle.write("# edited\n")
    after = {name: images.image_tag(name) for name in images.IMAGES}
    assert after["nginx"] != before["nginx"]
    assert {n: t for n, t in after.items() if n != "nginx"} == {
        n: t for n, t in before.items() if n != "nginx"
    }


def test_adding_a_file_changes_the_tag(image_tree: Path) -> None:
    before = images.image_tag("smsc-sim")
    (image_tree / "smsc-sim" / "extra.txt").write_text("x")
    assert images.image_tag("smsc-sim") != before


def test_changing_the_base_moves_every_tag(image_tree: Path) -> None:
    before = {name: images.image_tag(name) for name in images.IMAGES}
    with (image_tree / "base" / "Dockerfile").open("a") as handle:
        handle.write("# edited\n")
    after = {name: images.image_tag(name) for name in images.IMAGES}
    assert all(after[name] != before[name] for name in images.IMAGES)


def test_caches_are_not_part_of_the_tag(image_tree: Path) -> None:
    before = images.image_tag("portal")
    cache = image_tree / "portal" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "portal.cpython-311.pyc").write_bytes(b"\0")
    assert images.image_tag("portal") == before


def test_exporter_tag_covers_the_project_sources_it_copies() -> None:
    arcnames = {arcname for arcname, _ in images.context_files("exporter")}
    assert "inventory/store.py" in arcnames
    assert "dvc_rollout/errors.py" in arcnames
    assert "dvc_rollout/argtypes.py" in arcnames  # the exporters' flags need it
    assert "vendor/pydantic/__init__.py" in arcnames


def test_unknown_image_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown image 'nosuch'"):
        images.image_tag("nosuch")
    with pytest.raises(UsageError, match="unknown image"):
        images.build(["nosuch"])


def _core_extension(python: tuple[int, int]) -> str:
    files = images.context_files("exporter", python=python)
    (name,) = [a for a, _ in files if a.startswith("vendor/pydantic_core/_pydantic_core.")]
    return name


def test_the_exporter_image_carries_pydantic_built_for_its_own_python() -> None:
    # bookworm's python3 runs the image, whichever Python builds it (3.11 to 3.13).
    assert images.IMAGE_PYTHON == (3, 11)
    assert ".cpython-311-" in _core_extension((3, 11))
    from_newer = _core_extension((3, 13))  # pip fetches the pinned versions for 3.11
    assert ".cpython-311-" in from_newer
    files = images.context_files("exporter", python=(3, 13))
    vendored = {a.split("/")[1] for a, _ in files if a.startswith("vendor/")}
    assert {"pydantic", "pydantic_core", "annotated_types", "typing_extensions.py"} <= vendored
