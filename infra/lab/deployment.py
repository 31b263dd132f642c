"""What the in-process deployer made for a stack: each resource's URN, id and inputs.

Pulumi's engine keeps a state file per stack and compares the program with it; the
in-process deployer (no Pulumi CLI) keeps this record for the same reasons. `lab preview`
compares the program with the record and the engine and says what `up` would create,
replace and delete; `up` deletes what the program no longer declares (a district dropped
from the sample takes its network and desks with it) and makes again what was removed by
hand. Secret inputs are kept only as digests, so the record (0600, in the stack's state
folder) can say a password changed without holding it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from dvc_rollout import statedir
from dvc_rollout.errors import UsageError
from infra.lab.specs import SECRET_SIG

RECORD_FILE = "deployment.json"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
CONTAINER = "docker:index/container:Container"
RECORDED = (NETWORK, VOLUME, REMOTE_IMAGE, CONTAINER)
# Deleted in this order (what uses a network or volume goes before it); images are kept
# on the host (`keep_locally`), so deleting one only drops it from the record.
DELETE_ORDER = (CONTAINER, REMOTE_IMAGE, NETWORK, VOLUME)

Action = Literal["create", "replace", "delete", "same"]


@dataclass(frozen=True)
class Resource:
    """One resource as the deployer made it."""

    urn: str
    type: str
    name: str  # the name on the Docker host
    id: str
    inputs: dict[str, Any]  # as the program gave them, secrets as digests
    digest: str

    @property
    def kind(self) -> str:
        """`container`, `network`, `volume` or `image`, for people."""
        return {CONTAINER: "container", NETWORK: "network", VOLUME: "volume"}.get(
            self.type, "image"
        )


@dataclass(frozen=True)
class Change:
    """What `up` does to one resource, and why."""

    action: Action
    resource: Resource
    reason: str = ""


def masked(value: Any) -> Any:
    """The inputs with every secret replaced by a digest of it (and Pulumi internals dropped)."""
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG) is not None:
            blob = json.dumps(masked(value.get("value")), sort_keys=True, default=str)
            return {"secret-sha256": hashlib.sha256(blob.encode()).hexdigest()[:16]}
        return {str(k): masked(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def digest(inputs: Mapping[str, Any]) -> str:
    blob = json.dumps(inputs, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def urn_parts(urn: str) -> tuple[str, str]:
    """(type token, logical name) of a URN `urn:pulumi:stack::project::parent$type::name`."""
    parts = urn.split("::")
    return parts[2].split("$")[-1], parts[-1]


def resource(urn: str, rid: str, raw_inputs: Mapping[str, Any]) -> Resource:
    typ, _ = urn_parts(urn)
    inputs = masked(dict(raw_inputs))
    return Resource(
        urn=urn,
        type=typ,
        name=str(inputs.get("name") or ""),
        id=str(rid or ""),
        inputs=inputs,
        digest=digest(inputs),
    )


def record_path(stack: str) -> Any:
    return statedir.stack_dir(stack) / RECORD_FILE


def load(stack: str) -> dict[str, Resource]:
    """The stack's record, URN -> resource (empty when the stack was never deployed)."""
    path = record_path(stack)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {r["urn"]: Resource(**r) for r in data["resources"]}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"the deployer's record {path} is unreadable ({exc}): take the stack down "
            "(`dvc-rollout lab down --stack …`) and bring it up again"
        ) from None


def save(stack: str, docker_host: str, resources: Iterable[Resource]) -> None:
    """Write the record (0600) under a temporary name, then move it into place."""
    path = record_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "stack": stack,
        "docker_host": docker_host,
        "resources": [asdict(r) for r in sorted(resources, key=lambda r: r.urn)],
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=1, ensure_ascii=False)
    os.replace(tmp, path)


def forget(stack: str) -> None:
    record_path(stack).unlink(missing_ok=True)


def plan(
    wanted: Mapping[str, Resource],
    recorded: Mapping[str, Resource],
    present: Mapping[str, set[str]],
) -> list[Change]:
    """Compare the program (`wanted`) with the record and what the host has now.

    `present` maps a resource type to the names of the stack's resources of that type on
    the host. A resource the program declares is made when it is new or missing from the
    host (removed by hand), replaced when its inputs changed and kept otherwise; a recorded
    resource it no longer declares is deleted, and so is one labelled for the stack that
    neither declares nor records (left by an older run).
    """
    changes: list[Change] = []
    for urn, want in sorted(wanted.items()):
        had = recorded.get(urn)
        on_host = want.type == REMOTE_IMAGE or want.name in present.get(want.type, set())
        if had is None:
            action: Action = "create"
            why = "new" if not on_host else "on the host but not in the record: made again"
        elif had.digest != want.digest:
            action, why = "replace", _what_changed(had.inputs, want.inputs)
        elif not on_host:
            action, why = "create", "missing on the host (removed by hand?)"
        else:
            action, why = "same", ""
        changes.append(Change(action, want, why))
    names = {(w.type, w.name) for w in wanted.values()}
    for urn, had in sorted(recorded.items()):
        if urn not in wanted and (had.type, had.name) not in names:
            changes.append(Change("delete", had, "no longer declared"))
    deleted = {(c.resource.type, c.resource.name) for c in changes if c.action == "delete"}
    for typ, found in sorted(present.items()):
        for name in sorted(found):
            if (typ, name) not in names and (typ, name) not in deleted:
                stray = Resource(f"(unrecorded) {name}", typ, name, "", {}, "")
                changes.append(Change("delete", stray, "labelled for the stack, not declared"))
    return changes


def _what_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return "changed: " + ", ".join(keys) if keys else "changed"


def deletions(changes: Iterable[Change]) -> list[Resource]:
    """The resources to delete, in an order the host accepts."""
    found = [c.resource for c in changes if c.action == "delete"]
    return sorted(found, key=lambda r: (DELETE_ORDER.index(r.type), r.name))


def summary(changes: Iterable[Change]) -> dict[str, int]:
    counts = {"create": 0, "replace": 0, "delete": 0, "same": 0}
    for c in changes:
        counts[c.action] += 1
    return counts
