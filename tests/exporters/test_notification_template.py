"""The on-call e-mail's subject and text, rendered by Alertmanager's own amtool.

People read the subject first: it must say in Vietnamese what is wrong, where, and
whether it is firing or resolved, not a rule's code name (the lab's district-outage mail
read "DvcDistrictOutage" there while its rule had a Vietnamese summary).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).parents[2] / "exporters" / "alertmanager_templates" / "dvc.tmpl"
SUMMARY_VI = "Mất dịch vụ diện rộng tại Huyện Sóc Sơn: 100% số dịch vụ không hoạt động"


def _data(status: str, annotations: dict[str, str]) -> dict[str, object]:
    labels = {"alertname": "DvcDistrictOutage", "district": "Huyện Sóc Sơn", "severity": "critical"}
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": "2017-07-15T01:00:00Z",
        "endsAt": "2017-07-15T02:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": "1",
    }
    return {
        "receiver": "district-016",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"alertname": labels["alertname"], "district": labels["district"]},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.lab.invalid",
    }


def _render(tmp_path: Path, text: str, data: dict[str, object]) -> str:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is missing: `apt-get install prometheus-alertmanager`")
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    done = subprocess.run(
        [amtool, "template", "render", f"--template.glob={TEMPLATE}",
         f"--template.text={text}", f"--template.data={path}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_subject_says_what_is_wrong_in_vietnamese_not_the_rules_code(tmp_path: Path) -> None:
    notes = {"summary_vi": SUMMARY_VI, "summary": "District-wide outage in Huyện Sóc Sơn"}
    subject = _render(tmp_path, '{{ template "dvc.subject" . }}', _data("firing", notes))
    assert subject == f"[DVC] ĐANG LỖI: Huyện Sóc Sơn — {SUMMARY_VI} (1) / firing"


def test_a_title_wins_and_the_code_name_is_the_last_resort(tmp_path: Path) -> None:
    titled = {"title_vi": "Mất dịch vụ diện rộng", "summary_vi": SUMMARY_VI}
    subject = _render(tmp_path, '{{ template "dvc.subject" . }}', _data("resolved", titled))
    assert subject == "[DVC] ĐÃ KHẮC PHỤC: Huyện Sóc Sơn — Mất dịch vụ diện rộng (1) / resolved"
    bare = _render(tmp_path, '{{ template "dvc.subject" . }}', _data("firing", {}))
    assert "— DvcDistrictOutage (1)" in bare


def test_the_text_gives_hanoi_times_with_the_zone(tmp_path: Path) -> None:
    text = _render(
        tmp_path, '{{ template "dvc.text" . }}', _data("resolved", {"summary_vi": SUMMARY_VI})
    )
    assert "Từ / since: 08:00 15/07/2017 (UTC+7); đến / until: 09:30 15/07/2017 (UTC+7)" in text
