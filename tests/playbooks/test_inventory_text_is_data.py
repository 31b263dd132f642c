"""A hostile unit name reaches Ansible as text: real ansible-playbook, no lab needed.

The dynamic inventory (playbooks/inventory.sh) is run by ansible-playbook on an
inventory copy whose unit 00376 carries Jinja2, shell and HTML in its name and in an
official's full name; the play renders the terminal role's own portal.conf template,
runs a command with the name and prints it through `to_json`. Nothing may run (no
marker file) and every output must hold the name exactly as typed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import inventory

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
HOST = "term-00376-1"

PLAY = """\
- name: Use the inventory's text the ways the roles do
  hosts: {host}
  gather_facts: false
  vars:
    terminal_portal_url: http://portal.invalid/
    terminal_portal_name: Dịch vụ công
  tasks:
    - name: Render the terminal role's portal.conf
      ansible.builtin.template:
        src: {templates}/portal.conf.j2
        dest: {out}/portal.conf
        mode: "0644"
    - name: Hand the name to a command as one argument
      ansible.builtin.command:
        argv: [printf, "%s", "{{{{ dvc_unit_name }}}}"]
      register: printed
      changed_when: false
    - name: Write what the play saw
      ansible.builtin.copy:
        content: >-
          {{{{ {{'printed': printed.stdout, 'name': dvc_unit_name,
               'same': dvc_unit_name == printed.stdout,
               'officials': dvc_officials | map(attribute='full_name') | list,
               'json': dvc_officials | to_json}} | to_json }}}}
        dest: {out}/seen.json
        mode: "0644"
"""


def hostile_inventory(directory: Path, name: str) -> Path:
    """A copy of the shipped inventory with unit 00376 (and an official of it) named `name`."""
    data = directory / "inventory"
    shutil.copytree(inventory.DEFAULT_DATA_DIR, data)
    units = data / "units.yaml"
    text = units.read_text(encoding="utf-8")
    quoted = json.dumps(name, ensure_ascii=False)  # a JSON string is a YAML double-quoted one
    units.write_text(text.replace("name: Thị trấn Sóc Sơn,", f"name: {quoted},", 1), "utf-8")
    records = {"accounts": [{"unit": "00376", "username": "cb1", "full_name": name}]}
    (data / "records.yaml").write_text(yaml.safe_dump(records, allow_unicode=True), "utf-8")
    return data


def test_a_hostile_unit_name_is_rendered_literally_and_runs_nothing(
    tmp_path, hostile, program_outputs
) -> None:
    data = hostile_inventory(tmp_path, hostile.name)
    assert inventory.load(data).places["00376"].name == hostile.name
    state = tmp_path / "state"
    (state / "estate").mkdir(parents=True)
    # A production estate's outputs, as its program exports them (the contract's shape).
    estate = program_outputs("estate", "production")
    (state / "estate" / "outputs.json").write_text(estate.model_dump_json(), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    play = tmp_path / "play.yml"
    templates = REPO / "playbooks" / "roles" / "terminal" / "templates"
    play.write_text(PLAY.format(host=HOST, templates=templates, out=out), encoding="utf-8")
    env = {
        **os.environ,
        "DVC_INVENTORY": str(data),
        "DVC_STATE_DIR": str(state),
        "DVC_STACK": "estate",
        "DVC_PYTHON": sys.executable,
        "ANSIBLE_CONFIG": str(REPO / "playbooks" / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    }
    env.pop("DVC_INVENTORY_RECORDS", None)
    done = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            *("-i", str(REPO / "playbooks" / "inventory.sh"), str(play), "--limit", HOST),
            *("-e", "ansible_connection=local ansible_become=false"),
            *("-e", f"ansible_python_interpreter={sys.executable}"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert hostile.ran() == [], done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads((out / "seen.json").read_text(encoding="utf-8"))
    assert seen["printed"] == hostile.name
    assert seen["name"] == hostile.name and seen["same"] is True
    assert seen["officials"] == [hostile.name]
    assert json.loads(seen["json"])[0]["full_name"] == hostile.name
    portal = (out / "portal.conf").read_text(encoding="utf-8")
    assert f"unit_name = {hostile.name}\n" in portal


PORTAL_URL_PATTERN = yaml.safe_load(
    (REPO / "playbooks" / "roles" / "terminal" / "vars" / "main.yml").read_text("utf-8")
)["_terminal_portal_url_pattern"]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://dvc-lab-nginx/", True),
        ("https://dichvucong.hanoi.gov.vn", True),
        ("http://10.0.0.5:8080/dvc/", True),
        ("http://portal/ --new-window", False),
        ("http://portal/$(id)", False),
        ("http://portal/`id`", False),
        ('http://portal/"x', False),
        ("http://portal/;reboot", False),
        ("file:///etc/passwd", False),
        ("http://portal/\nExec=sh", False),
        ("http://portal/\n", False),
    ],
)
def test_only_a_plain_portal_url_reaches_the_shortcut(url: str, ok: bool) -> None:
    # Ansible's `match` is re.match; the pattern anchors its own end.
    assert (re.match(PORTAL_URL_PATTERN, url) is not None) is ok
