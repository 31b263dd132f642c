"""The browser the portal is used with is installed and recent enough."""

from __future__ import annotations

from typing import Any

from checks import expected, facts
from checks.selection import Target


def test_browser_installed(host: Any, target: Target) -> None:
    assert host.package(expected.BROWSER_PACKAGE).is_installed, (
        f"{expected.BROWSER_PACKAGE} is not installed on {target.host}: re-run "
        f"`{expected.RECONFIGURE.format(host=target.host)}`"
    )


def test_browser_version(host: Any, target: Target) -> None:
    package = host.package(expected.BROWSER_PACKAGE)
    if not package.is_installed:
        return  # reported by test_browser_installed
    version = package.version
    assert facts.upstream_major(version) >= expected.MIN_BROWSER_VERSION, (
        f"{expected.BROWSER_PACKAGE} {version} on {target.host} is older than "
        f"{expected.MIN_BROWSER_VERSION}: upgrade it (`apt-get install "
        f"{expected.BROWSER_PACKAGE}`) or re-run `{expected.RECONFIGURE.format(host=target.host)}`"
    )
