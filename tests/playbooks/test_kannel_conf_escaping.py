"""Passwords reach Kannel exactly as typed: kannel.conf escapes them for Kannel's reader.

Kannel (Debian's, on this machine) is the judge: the role's kannel.conf.j2 is rendered by
ansible-playbook with passwords full of quotes, backslashes, `$(...)` and `{{ }}` (handed
over as `dvc-rollout configure` does, through its credentials file), a bearerbox and an
smsbox are started on it, and the admin page and sendsms must accept each password as
typed and refuse a wrong one. What Kannel cannot hold at all (a line break, the word
`include`) is refused by the role's check, naming the setting and never the value.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from playbooks import credentials

ROLE = Path(__file__).resolve().parents[2] / "playbooks" / "roles" / "sms_switchboard"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
HOSTILE = [
    'pw-"quoted"-\\back\\slash\\',
    "pw $(touch /tmp/kannel-pwned) `id`; {{ 7 * 7 }} {% raw %}",
    "pw \\\\ \\\" 'single' | <b> # not a comment = x",
]


def _filters() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "kannel_conf", ROLE / "filter_plugins" / "kannel_conf.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kannel_conf = _filters()


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("\\", '"\\\\"'),
        ("", '""'),
        (None, '""'),
        (13013, '"13013"'),
    ],
)
def test_kannel_quote_escapes_what_kannel_unescapes(value: object, written: str) -> None:
    assert kannel_conf.kannel_quote(value) == written


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "my-include-pw"])
def test_kannel_quote_refuses_what_kannel_cannot_read_back(value: str) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        kannel_conf.kannel_quote(value)


def test_unwritable_settings_are_named_without_their_values() -> None:
    found = kannel_conf.kannel_unwritable(
        {
            "admin": "fine",
            "users": [{"username": "u", "password": "sec\nret"}],
            "smsc": {"sim-a": {"password": "xincludex"}},
            "ports": [13013],
        }
    )
    assert found == ["users[0].password", "smsc.sim-a.password"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _play(tmp_path: Path, tasks: str) -> Path:
    play = tmp_path / "play.yml"
    play.write_text(
        "- name: Kannel config from the role\n  hosts: localhost\n  gather_facts: false\n"
        f"  tasks:\n{tasks}",
        encoding="utf-8",
    )
    return play


def _ansible(
    tmp_path: Path, play: Path, variables: dict[str, object]
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook on localhost with the role's filters, `variables` passed as
    `dvc-rollout configure` passes credentials (a JSON vars file, values marked unsafe)."""
    env = {
        **os.environ,
        "ANSIBLE_FILTER_PLUGINS": str(ROLE / "filter_plugins"),
        "ANSIBLE_ROLES_PATH": str(ROLE.parent),
        "ANSIBLE_NOCOLOR": "1",
    }
    vars_file = credentials.Credentials(dict(variables)).write(tmp_path / "vars.json")
    return subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            *("-i", "localhost,", "-c", "local", str(play)),
            *("-e", f"ansible_python_interpreter={sys.executable}"),
            *("-e", f"@{vars_file}"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def kannel(tmp_path: Path) -> Iterator[dict[str, object]]:
    """kannel.conf rendered from the role with hostile passwords, bearerbox and smsbox on it."""
    if shutil.which("bearerbox") is None:
        pytest.fail("Kannel is missing: `apt-get install kannel` (see .ci/run)")
    admin, status, sendsms_pw = HOSTILE
    ports = {"admin": _free_port(), "smsbox": _free_port(), "sendsms": _free_port()}
    conf = tmp_path / "kannel.conf"
    settings = {
        "ansible_managed": "test",
        "sms_switchboard_admin_password": admin,
        "sms_switchboard_status_password": status,
        "sms_switchboard_admin_port": ports["admin"],
        "sms_switchboard_smsbox_port": ports["smsbox"],
        "sms_switchboard_sendsms_port": ports["sendsms"],
        "sms_switchboard_admin_allow_ip": ["127.0.0.1"],
        "sms_switchboard_sendsms_allow_ip": ["127.0.0.1"],
        "sms_switchboard_log_dir": "",
        "sms_switchboard_log_level": 1,
        "sms_switchboard_store_file": str(tmp_path / "store"),
        "sms_switchboard_dlr_storage": "internal",
        "sms_switchboard_dlr_url": "",
        "sms_switchboard_probe_url": "",
        "sms_switchboard_smscs": [],
        "sms_switchboard_smsc_credentials": {},
        "sms_switchboard_sendsms_users": [
            {"username": 'dvc "portal"', "password": sendsms_pw, "max_messages": 3}
        ],
    }
    tasks = (
        "    - name: Render kannel.conf\n      ansible.builtin.template:\n"
        f"        src: {ROLE / 'templates' / 'kannel.conf.j2'}\n        dest: {conf}\n"
        "        mode: '0600'\n"
    )
    done = _ansible(tmp_path, _play(tmp_path, tasks), settings)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not Path("/tmp/kannel-pwned").exists()
    boxes = []
    try:
        for box, port in (("bearerbox", ports["admin"]), ("smsbox", ports["sendsms"])):
            log = (tmp_path / f"{box}.log").open("w")
            boxes.append(subprocess.Popen([box, "-v", "1", str(conf)], stdout=log, stderr=log))
            _wait_for_port(port, boxes[-1], box, tmp_path / f"{box}.log")
        yield {"ports": ports, "conf": conf, "settings": settings}
    finally:
        for proc in reversed(boxes):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], box: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{box} ended: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"{box} did not listen on {port} within 30 s")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_admin_and_status_passwords_arrive_as_typed(kannel) -> None:
    port = kannel["ports"]["admin"]
    settings = kannel["settings"]
    for key in ("sms_switchboard_admin_password", "sms_switchboard_status_password"):
        query = urllib.parse.urlencode({"password": settings[key]})
        code, body = _get(f"http://127.0.0.1:{port}/status.txt?{query}")
        assert code == 200 and "Kannel bearerbox version" in body, (key, code, body)
    code, body = _get(f"http://127.0.0.1:{port}/status.txt?password=pw")
    assert code == 403 or "Denied" in body, (code, body)


def test_a_sendsms_password_arrives_as_typed(kannel) -> None:
    port = kannel["ports"]["sendsms"]
    user = kannel["settings"]["sms_switchboard_sendsms_users"][0]
    query = {"username": user["username"], "from": "DVC", "to": "0900000000", "text": "thử"}
    code, body = _get(
        f"http://127.0.0.1:{port}/cgi-bin/sendsms?"
        + urllib.parse.urlencode({**query, "password": user["password"]})
    )
    # Past the password check: with no SMSC configured Kannel can only say it has no route.
    assert "Authorization failed" not in body and "Not routable" in body, (code, body)
    code, body = _get(
        f"http://127.0.0.1:{port}/cgi-bin/sendsms?"
        + urllib.parse.urlencode({**query, "password": user["password"] + "x"})
    )
    assert code == 403 and "Authorization failed" in body, (code, body)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("sms_switchboard_admin_password", "admin-include-pw"),
        ("sms_switchboard_status_password", "status\npw-12345"),
    ],
)
def test_a_value_kannel_cannot_hold_stops_the_role_naming_the_setting(
    tmp_path: Path, setting: str, value: str
) -> None:
    tasks = (
        "    - name: The role's check\n      ansible.builtin.include_role:\n"
        "        name: sms_switchboard\n        tasks_from: check.yml\n"
    )
    done = _ansible(
        tmp_path,
        _play(tmp_path, tasks),
        {
            "sms_switchboard_admin_password": "admin-pw-123",
            "sms_switchboard_status_password": "status-pw-123",
            "sms_switchboard_sendsms_users": [{"username": "u", "password": "user-pw-123"}],
            setting: value,
        },
    )
    assert done.returncode != 0
    assert f"kannel.conf cannot hold {setting}:" in done.stdout, done.stdout
    assert value not in done.stdout and value not in done.stderr
