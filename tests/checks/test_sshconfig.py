"""The ssh_config written for a lab stack: each desk by its inventory name, the check account."""

from __future__ import annotations

from pathlib import Path

from checks import sshconfig


def test_the_config_names_each_desk_with_the_check_account(tmp_path: Path) -> None:
    text = sshconfig.render({"term-016-1": ("10.1.2.3", 2222)}, tmp_path / "k", "dvc-check")
    assert "Host term-016-1\n  HostName 10.1.2.3\n  Port 2222" in text
    assert "User dvc-check" in text and f"IdentityFile {tmp_path / 'k'}" in text
    assert "BatchMode yes" in text and "PasswordAuthentication" not in text
