"""A `pulumi.runtime.Mocks` that realises `docker:` resources on the local engine.

Neither the Pulumi CLI nor its docker plugin can be downloaded on air-gapped machines
(nor in CI here), so the same program runs in-process under Pulumi's mock runtime and
this class stands in for the provider: each resource registration creates (or finds)
the real network, volume, image or container and hands back its real id and state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.lab import engine
from infra.lab.errors import UnsupportedByLab
from infra.lab.specs import container_spec, image_name, network_spec, unwrap, volume_spec

NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
CONTAINER = "docker:index/container:Container"
SUPPORTED = (NETWORK, VOLUME, REMOTE_IMAGE, CONTAINER)


@dataclass
class Realised:
    """One resource the mocks realised, for the caller's summary."""

    type: str
    name: str
    id: str
    reused: bool = False


@dataclass
class DockerMocks(pulumi.runtime.Mocks):
    """Create each `docker:` resource on the local engine and return its real state."""

    stack: str
    realised: list[Realised] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        if not args.custom:
            return "", {}  # component resources exist only in the program
        inputs = unwrap(dict(args.inputs))
        if args.typ == NETWORK:
            spec = network_spec(inputs, self.stack)
            found = engine.ensure_network(spec)
            self._record(args.typ, spec.name, found["Id"])
            return found["Id"], {**inputs, "name": spec.name, "scope": found.get("Scope", "")}
        if args.typ == VOLUME:
            vspec = volume_spec(inputs, self.stack)
            vol = engine.ensure_volume(vspec)
            self._record(args.typ, vspec.name, vspec.name)
            return vspec.name, {**inputs, "mountpoint": vol.get("Mountpoint", "")}
        if args.typ == REMOTE_IMAGE:
            name = image_name(inputs)
            image_id = engine.find_image(name)
            self._record(args.typ, name, image_id)
            return f"{image_id}{name}", {**inputs, "imageId": image_id, "repoDigest": image_id}
        if args.typ == CONTAINER:
            cspec = container_spec(inputs, self.stack)
            state = engine.ensure_container(cspec)
            self._record(args.typ, cspec.name, state.id, state.reused)
            return state.id, {
                **inputs,
                "ports": state.ports,
                "networkDatas": state.network_data,
                "hostname": cspec.hostname or state.id[:12],
            }
        raise UnsupportedByLab(
            f"resource type {args.typ} ({args.name!r}) is not supported by the in-process lab "
            f"(supported: {', '.join(SUPPORTED)}); run it with the Pulumi CLI instead"
        )

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise UnsupportedByLab(
            f"function {args.token} is not supported by the in-process lab: "
            "the lab program must not call provider functions"
        )

    def _record(self, typ: str, name: str, rid: str, reused: bool = False) -> None:
        with self._lock:
            self.realised.append(Realised(typ, name, rid, reused))
