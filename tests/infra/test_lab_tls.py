"""The lab's HTTPS: a CA made at `lab up`, keys kept 0600 in state/, the front and the
availability exporter wired to them as production would be."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from dvc_rollout import stack_outputs
from infra.lab import lifecycle, tls
from infra.lab.inprocess import run_program
from infra.lab.recording import RecordingMocks
from infra.lab.specs import unwrap

CONTAINER = "docker:index/container:Container"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DVC_STATE_DIR", str(tmp_path))
    return tmp_path


def test_the_ca_is_made_once_and_the_keys_stay_private(state: Path) -> None:
    first = tls.ensure("t", ["dvc-t-nginx", "localhost", "127.0.0.1"])
    again = tls.ensure("t", ["dvc-t-nginx", "localhost", "127.0.0.1"])
    assert first == again, "a second lab up re-issues nothing that is still good"
    for key in ("ca.key", "portal.key"):
        mode = stat.S_IMODE((state / "t" / "tls" / key).stat().st_mode)
        assert mode == 0o600, f"{key} is {oct(mode)}"
    assert first.server.names() == ["127.0.0.1", "dvc-t-nginx", "localhost"]
    left = first.server.not_after() - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=89) < left <= dt.timedelta(days=90)


def test_a_certificate_close_to_expiry_or_for_other_names_is_reissued(state: Path) -> None:
    first = tls.ensure("t", ["dvc-t-nginx"])
    ca = tls.lab_ca("t")
    short = tls.issue(ca, ["dvc-t-nginx"], days=5)
    (state / "t" / "tls" / "portal.pem").write_text(short.cert)
    (state / "t" / "tls" / "portal.key").write_text(short.key)
    renewed = tls.ensure("t", ["dvc-t-nginx"])
    assert renewed.server.not_after() > short.not_after() + dt.timedelta(days=60)
    assert tls.ensure("t", ["dvc-t-nginx", "localhost"]).server.names() == [
        "dvc-t-nginx", "localhost"
    ]  # fmt: skip
    assert renewed.ca_cert == first.ca_cert


def _containers(run: Any) -> dict[str, dict[str, Any]]:
    return {r.state["name"]: r.state for r in run.of_type(CONTAINER)}


def _uploads(state: dict[str, Any]) -> dict[str, Any]:
    return {u["file"]: unwrap(u["content"]) for u in unwrap(state.get("uploads") or [])}


def test_lab_up_serves_the_portal_over_https_and_the_exporter_verifies_it(state: Path) -> None:
    config, secret_keys = lifecycle.stack_config("unit")
    assert "dvc-rollout:tlsKey" in secret_keys
    run = run_program(RecordingMocks(), stack="unit", config=config, secret_keys=secret_keys)
    # What `lab up` records goes through the contract between stages (it once did not).
    model = stack_outputs.parse(run.outputs, "the unit stack's outputs")
    assert model.internal_endpoints.nginx_https == "https://dvc-unit-nginx"
    found = _containers(run)
    nginx = _uploads(found["dvc-unit-nginx"])
    material = tls.ensure("unit", lifecycle.tls_names("unit"))
    assert nginx["/etc/nginx/tls/portal.pem"] == material.server.cert
    assert nginx["/etc/nginx/tls/portal.key"] == material.server.key
    assert 443 in {p["internal"] for p in unwrap(found["dvc-unit-nginx"]["ports"])}
    exporter = _uploads(found["dvc-unit-exporter-availability"])
    assert exporter["/etc/dvc-availability-ca.pem"] == material.ca_cert
    assert "PRIVATE KEY" not in exporter["/etc/dvc-availability-ca.pem"]
    assert yaml.safe_load(exporter["/etc/dvc-availability.yml"]) == {
        "host": "dvc-unit-nginx",
        "default": {"url": "https://{host}/dvc/{unit_code}/{service_code}/health"},
        "probe": {"tls_ca_file": "/etc/dvc-availability-ca.pem"},
    }


def test_no_key_is_in_the_repository() -> None:
    repo = Path(__file__).resolve().parents[2]
    tracked = [p for p in repo.rglob("*.key") if ".venv" not in p.parts and "state" not in p.parts]
    assert tracked == []
