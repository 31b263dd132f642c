"""Getting the content-tagged images to a Docker host that cannot build or download them.

A data center's Docker host has no way to the internet and no build tools: it pulls the
project's images from the data center's own registry. `push` tags each image built here
(`dvc-rollout/<name>:<tag>`) as `<registry>/dvc-rollout/<name>:<tag>` and pushes it;
the Pulumi program's RemoteImage names the same reference, so the host pulls exactly
what was built. `carry` moves one image to an engine by `docker save | docker load`
(over the engine's ssh connection): how the registry's own image first gets there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from dvc_rollout.errors import DvcRolloutError, EnvironmentProblem
from infra import images

Progress = Callable[[str], None]


class PushError(DvcRolloutError):
    """The registry refused an image; the message names it and says what to check."""


def _push_one(client: Any, reference: str, progress: Progress) -> None:
    repository, _, tag = reference.rpartition(":")
    error = ""
    try:
        for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                error = str(chunk.get("error") or chunk.get("errorDetail"))
    except Exception as exc:  # the engine could not reach the registry at all
        error = f"{type(exc).__name__}: {exc}"
    if error:
        registry = reference.split("/", 1)[0]
        raise PushError(
            f"pushing {reference} failed: {error}. Is the registry at {registry} up "
            "(`dvc-rollout staging status`), and reachable from this machine's Docker?"
        )
    progress(f"pushed {reference}")


def push(
    names: Iterable[str], registry: str, *, progress: Progress | None = None
) -> dict[str, str]:
    """Build what is missing, then push each image to `registry`; return name -> reference."""
    say: Progress = progress or (lambda _line: None)
    wanted = [n for n in dict.fromkeys(names) if n != "base"]
    images.build(wanted, progress=say)
    client = images.docker_client()
    pushed: dict[str, str] = {}
    for name in wanted:
        local = images.image_tag(name)
        reference = images.reference(name, registry)
        repository, _, tag = reference.rpartition(":")
        client.images.get(local).tag(repository, tag=tag)
        _push_one(client, reference, say)
        pushed[name] = reference
    return pushed


def carry(name: str, target: Any, *, progress: Progress | None = None) -> str:
    """Copy image `name` (built here first if missing) into the engine of `target`, a
    Docker client; return its tag there. A no-op when the target already has it."""
    say: Progress = progress or (lambda _line: None)
    tag = images.build([name], progress=say)[name]
    try:
        target.images.get(tag)
        return tag
    except Exception:  # docker.errors.ImageNotFound, or an older SDK's NotFound
        pass
    say(f"{name}: carrying {tag} to the host (docker save | docker load)")
    image = images.docker_client().images.get(tag)
    try:
        target.images.load(b"".join(image.save(named=True)))
    except Exception as exc:
        raise EnvironmentProblem(f"loading {tag} into the host's engine failed: {exc}") from exc
    return tag
