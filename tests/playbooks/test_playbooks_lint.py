"""ansible-lint (production profile, offline) passes on every playbook and role."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from playbooks import bundled_collections

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def test_ansible_lint_passes_on_the_playbooks():
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["ANSIBLE_CONFIG"] = str(PLAYBOOKS / "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = str(bundled_collections.path())
    done = subprocess.run(
        [str(Path(venv_bin) / "ansible-lint"), "--nocolor", "--offline"],
        cwd=PLAYBOOKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Profile 'production' was required, and it passed" in done.stdout + done.stderr
