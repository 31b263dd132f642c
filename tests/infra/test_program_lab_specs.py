"""What the in-process lab refuses, checked before anything touches the engine."""

from __future__ import annotations

import pulumi
import pytest

from infra.lab.docker_mocks import DockerMocks
from infra.lab.errors import UnsupportedByLab
from infra.lab.specs import HASH_LABEL, container_spec, duration_ns, image_name

BASE = {
    "name": "dvc-t-web",
    "image": "sha256:abc",
    "restart": "unless-stopped",
    "labels": [{"label": "dvc-rollout.stack", "value": "t"}],
}


def test_unsupported_resource_type_is_named() -> None:
    args = pulumi.runtime.MockResourceArgs(
        typ="docker:index/service:Service", name="svc", inputs={}, custom=True
    )
    with pytest.raises(UnsupportedByLab, match=r"docker:index/service:Service \('svc'\)"):
        DockerMocks("t").new_resource(args)


def test_unsupported_container_argument_is_named() -> None:
    with pytest.raises(UnsupportedByLab, match="privileged"):
        container_spec({**BASE, "privileged": True}, "t")


def test_unsupported_nested_argument_is_named() -> None:
    ports = [{"internal": 80, "ip": "127.0.0.1", "publishMode": "host"}]
    with pytest.raises(UnsupportedByLab, match="publishMode"):
        container_spec({**BASE, "ports": ports}, "t")


def test_host_path_volumes_are_refused() -> None:
    with pytest.raises(UnsupportedByLab, match="hostPath"):
        container_spec({**BASE, "volumes": [{"hostPath": "/etc", "containerPath": "/x"}]}, "t")


def test_a_label_naming_another_stack_is_refused() -> None:
    labels = [{"label": "dvc-rollout.stack", "value": "other"}]
    with pytest.raises(UnsupportedByLab, match="must name the stack"):
        container_spec({**BASE, "labels": labels}, "t")


def test_images_must_be_kept_locally() -> None:
    with pytest.raises(UnsupportedByLab, match="keep_locally"):
        image_name({"name": "dvc-rollout/portal:abc"})


def test_stack_labels_are_always_added() -> None:
    spec = container_spec({**BASE, "labels": []}, "t")
    assert spec.labels == {"dvc-rollout.stack": "t", "dvc-rollout.managed": "true"}


def test_config_hash_changes_with_config_only() -> None:
    one = container_spec({**BASE, "envs": ["A=1"]}, "t")
    same = container_spec({**BASE, "envs": ["A=1"]}, "t")
    other = container_spec({**BASE, "envs": ["A=2"]}, "t")
    assert one.config_hash() == same.config_hash() != other.config_hash()
    assert HASH_LABEL not in one.labels


def test_secret_inputs_are_unwrapped_for_the_engine() -> None:
    envs = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": ["PW=x"],
    }
    assert container_spec({**BASE, "envs": envs}, "t").env == ("PW=x",)


@pytest.mark.parametrize(
    ("text", "ns"), [("3s", 3 * 10**9), ("1m30s", 90 * 10**9), ("500ms", 5 * 10**8)]
)
def test_durations(text: str, ns: int) -> None:
    assert duration_ns(text) == ns


def test_bad_duration_says_the_format() -> None:
    with pytest.raises(UnsupportedByLab, match="500ms, 5s"):
        duration_ns("3 seconds")
