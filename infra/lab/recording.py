"""Engine-free mocks: record the resource graph without creating anything.

The unit tests (and a dry look at a stack's graph) need the program's resources and
outputs but no Docker engine: every resource echoes its inputs, containers get made-up
host ports so endpoint outputs still resolve.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.lab.specs import unwrap


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs as state; publish each container port on a fake 127.0.0.1 port."""

    _ports: itertools.count[int] = field(default_factory=lambda: itertools.count(40000))

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        state = dict(args.inputs)
        if args.typ == "docker:index/container:Container":
            state["ports"] = [
                {**unwrap(p), "external": unwrap(p).get("external") or next(self._ports)}
                for p in args.inputs.get("ports") or []
            ]
        if args.typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = f"sha256:{abs(hash(args.inputs.get('name'))):064x}"[:71]
        return f"{args.name}-id", state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None
