"""The lab images build for real, are not rebuilt when unchanged, and each runs its service."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from dvc_rollout.errors import EnvironmentProblem
from infra import images


def test_every_image_is_built_under_its_content_tag(
    images_built: dict[str, str], docker_client: Any
) -> None:
    assert set(images_built) == set(images.IMAGES)
    for name, tag in images_built.items():
        assert tag == images.image_tag(name)
        assert docker_client.images.get(tag).labels["dvc-rollout.image"] == name


def test_a_second_build_builds_nothing(images_built: dict[str, str]) -> None:
    lines: list[str] = []
    assert images.build(progress=lines.append) == images_built
    assert [line for line in lines if "building" in line] == []
    assert len([line for line in lines if "up to date" in line]) == len(images.IMAGES)


def test_a_failing_build_names_the_image_and_shows_its_log(
    images_built: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "images"
    shutil.copytree(images.IMAGES_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "ntp" / "Dockerfile").write_text(
        "ARG BASE\nFROM ${BASE}\nRUN echo dvc-marker-broken-step && exit 3\n"
    )
    monkeypatch.setattr(images, "IMAGES_DIR", copy)
    monkeypatch.setattr(images, "ROOTFS_SCRIPT", copy / "base" / "rootfs.sh")
    with pytest.raises(
        images.ImageBuildError, match=r"(?s)building image 'ntp'.*dvc-marker-broken-step"
    ):
        images.build(["ntp"])


def test_a_stopped_engine_is_an_environment_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/dvc-rollout-test.sock")
    with pytest.raises(EnvironmentProblem, match=r"bash infra/engine\.sh ensure"):
        images.build(["ntp"])


def test_postgres_starts_with_the_schema_and_synthetic_citizens(kit: Any) -> None:
    pg = kit.run("postgres", "pg", env={"POSTGRES_PASSWORD": "test-secret"})
    kit.wait_healthy(pg)
    code, out = kit.sh(
        pg,
        "PGPASSWORD=test-secret psql -h 127.0.0.1 -U dvc -d dvc -Atc "
        '"SELECT count(*), min(id), max(id) FROM citizens WHERE synthetic; '
        "SELECT full_name FROM citizens WHERE id = 'CD-000001'; "
        'SELECT count(*) FROM dossiers"',
    )
    assert code == 0, out
    assert out.split() == [
        "1000|CD-000001|CD-001000",
        "Công",
        "dân",
        "thử",
        "nghiệm",
        "0001",
        "0",
    ]
    code, out = kit.sh(pg, "PGPASSWORD=wrong psql -h 127.0.0.1 -U dvc -d dvc -c 'SELECT 1'")
    assert code != 0 and "password authentication failed" in out


def test_postgres_refuses_to_initialise_without_a_password(kit: Any) -> None:
    pg = kit.run("postgres", "pg-nopw", health="")
    assert pg.wait(timeout=60)["StatusCode"] != 0
    assert b"POSTGRES_PASSWORD is not set" in pg.logs()


def test_kannel_delivers_sendsms_to_the_simulator_and_guards_its_admin(kit: Any) -> None:
    sim = kit.run("smsc-sim", "sim", env={"SIM_ID": "sim-a"}, ports=("13080/tcp",))
    kannel = kit.run(
        "kannel",
        "kannel",
        env={
            "KANNEL_ADMIN_PASSWORD": "adm-secret",
            "KANNEL_STATUS_PASSWORD": "st-secret",
            "SENDSMS_USER": "portal",
            "SENDSMS_PASSWORD": "sms-secret",
            "SMSC_HTTP": f"sim-a=http://{sim.name}:13080",
        },
        ports=("13013/tcp",),
    )
    kit.wait_healthy(sim)
    kit.wait_healthy(kannel)
    text = "Hồ sơ đã được tiếp nhận"
    query = urlencode(
        {
            "username": "portal",
            "password": "sms-secret",
            "to": "0900000001",
            "text": text,
            "charset": "UTF-8",
            "coding": "2",
        }
    )
    status, body = kit.http("GET", f"{kit.host_url(kannel, '13013/tcp')}/cgi-bin/sendsms?{query}")
    assert status == 202, body
    sim_url = kit.host_url(sim, "13080/tcp")
    messages = kit.poll(
        lambda: json.loads(kit.http("GET", f"{sim_url}/messages?to=0900000001")[1]),
        what="the message at the simulator",
    )
    assert [(m["to"], m["text"], m["sim_id"]) for m in messages] == [("0900000001", text, "sim-a")]
    _, out = kit.sh(kannel, "curl -fsS http://127.0.0.1:13000/status.xml")
    assert "Denied" in out and "<status>running" not in out


def test_nginx_answers_itself_and_proxies_with_keepalive(kit: Any) -> None:
    upstream = kit.run("webhook", "upstream")
    nginx = kit.run("nginx", "nginx", env={"PORTAL_UPSTREAM": f"{upstream.name}:9095"})
    kit.wait_healthy(nginx)
    kit.wait_healthy(upstream)
    code, out = kit.sh(nginx, "curl -fsS http://127.0.0.1/healthz")
    assert code == 0 and json.loads(out) == {"status": "ok"}
    code, out = kit.sh(nginx, "cat /etc/nginx/conf.d/dvc-portal.conf")
    assert f"server {upstream.name}:9095" in out and "keepalive" in out


def test_prometheus_and_alertmanager_deliver_an_alert_to_the_webhook(kit: Any) -> None:
    webhook = kit.run("webhook", "webhook", ports=("9095/tcp",))
    alertmanager = kit.run(
        "alertmanager",
        "alertmanager",
        env={"WEBHOOK_URL": f"http://{webhook.name}:9095/alerts/lab"},
        ports=("9093/tcp",),
    )
    prometheus = kit.run(
        "prometheus",
        "prometheus",
        env={"ALERTMANAGER_URL": f"http://{alertmanager.name}:9093"},
        ports=("9090/tcp",),
    )
    for container in (webhook, alertmanager, prometheus):
        kit.wait_healthy(container)
    prom = kit.host_url(prometheus, "9090/tcp")
    kit.poll(
        lambda: f"{alertmanager.name}:9093" in kit.http("GET", f"{prom}/api/v1/alertmanagers")[1],
        what="Prometheus to discover the Alertmanager from ALERTMANAGER_URL",
    )
    assert kit.http("POST", f"{prom}/-/reload")[0] == 200
    alert = [{"labels": {"alertname": "DvcImagesTest", "district": "016"}}]
    status, body = kit.http(
        "POST", f"{kit.host_url(alertmanager, '9093/tcp')}/api/v2/alerts", alert
    )
    assert status == 200, body
    hook = kit.host_url(webhook, "9095/tcp")
    received = kit.poll(
        lambda: json.loads(kit.http("GET", f"{hook}/notifications?receiver=lab")[1]),
        timeout=90,
        what="the alert notification",
    )
    assert received[0]["payload"]["alerts"][0]["labels"]["alertname"] == "DvcImagesTest"


def test_terminal_runs_cups_sane_and_syncs_to_the_lab_ntp(kit: Any) -> None:
    ntp = kit.run("ntp", "ntp")
    terminal = kit.run("terminal", "term", env={"NTP_SERVER": ntp.name})
    kit.wait_healthy(ntp)
    kit.wait_healthy(terminal)
    kit.poll(
        lambda: kit.sh(terminal, "chronyc -n sources | grep -q '^\\^\\*'")[0] == 0,
        timeout=120,
        what="the terminal to select the lab NTP server",
    )
    code, out = kit.sh(terminal, "lpinfo -v")
    assert "cups-pdf:/" in out
    code, out = kit.sh(terminal, "lpstat -v")
    assert "dvc-printer" not in out  # site queues are Ansible's job
    code, out = kit.sh(terminal, "scanimage -L")
    assert "test:0" in out
    code, out = kit.sh(terminal, "command -v firefox-esr python3 sudo ip curl")
    assert code == 0, out


def test_exporter_image_can_load_the_inventory(
    docker_client: Any, images_built: dict[str, str]
) -> None:
    output = docker_client.containers.run(
        images_built["exporter"],
        ["python3", "-c", "import inventory; print(len(inventory.load().pairs()))"],
        remove=True,
        labels={"dvc-rollout.test": "images"},
    )
    assert output.decode().strip() == "2676"
