"""A stack whose recorded networks are gone from its Docker host is an estate not as
declared: the check says which network and what to run, instead of a traceback."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from checks.lab import _network_facts
from dvc_rollout.stack_outputs import StackOutputs
from infra.lab.errors import LabEngineProblem


@pytest.mark.docker
def test_a_network_missing_from_the_engine_is_named_with_what_to_run(
    program_outputs: Callable[..., StackOutputs],
) -> None:
    stack = f"test-nonet-{uuid.uuid4().hex[:8]}"  # its networks were never created
    outputs = program_outputs(stack, file="lab")
    with pytest.raises(LabEngineProblem) as raised:
        _network_facts(outputs)
    message = str(raised.value)
    assert f"stack {stack} is not on its Docker host this machine" in message
    assert f"`dvc-rollout lab up --stack {stack}`" in message
