"""The desk opens the right DVC portal, and the portal answers from the desk."""

from __future__ import annotations

from typing import Any

from checks import expected, facts
from checks.hosts import read_file
from checks.selection import Target


def _fix(target: Target) -> str:
    return f"re-run `{expected.RECONFIGURE.format(host=target.host)}`"


def _same(url: str | None, portal: str) -> bool:
    """One URL with or without the trailing slash is the same portal."""
    return url is not None and url.rstrip("/") == portal.rstrip("/")


def _config(host: Any, target: Target) -> str:
    text = read_file(target.uri, host, expected.PORTAL_CONFIG)
    assert text is not None, f"{expected.PORTAL_CONFIG} is missing on {target.host}: {_fix(target)}"
    return text


def test_config_points_at_portal(host: Any, target: Target) -> None:
    url = facts.ini_value(_config(host, target), "portal", "url")
    assert _same(url, target.portal_url), (
        f"{expected.PORTAL_CONFIG} on {target.host} points at {url!r}, not the portal "
        f"{target.portal_url!r}: {_fix(target)}"
    )


def test_config_names_the_site(host: Any, target: Target) -> None:
    code = facts.ini_value(_config(host, target), "site", "code")
    assert code == target.site_code, (
        f"{expected.PORTAL_CONFIG} on {target.host} is set up for site {code!r}, but the PC "
        f"belongs to {target.site_code} ({target.unit}): {_fix(target)}"
    )


def test_shortcut_points_at_portal(host: Any, target: Target) -> None:
    shortcut = read_file(target.uri, host, expected.PORTAL_SHORTCUT)
    assert shortcut is not None, (
        f"the portal shortcut {expected.PORTAL_SHORTCUT} is missing on {target.host}: "
        f"{_fix(target)}"
    )
    command = facts.desktop_exec(shortcut) or ""
    assert _same(command.split()[-1] if command else None, target.portal_url), (
        f"the portal shortcut on {target.host} runs {command!r}, which does not open "
        f"{target.portal_url}: {_fix(target)}"
    )


def test_portal_reachable(host: Any, target: Target) -> None:
    url = target.portal_url.rstrip("/") + expected.PORTAL_HEALTH_PATH
    answer = host.run(
        "curl -sS -o /dev/null -w %s --max-time %s %s",
        "%{http_code}",
        str(expected.PORTAL_TIMEOUT_SECONDS),
        url,
    )
    assert answer.rc == 0 and answer.stdout.strip() == "200", (
        f"the portal {url} does not answer from {target.host} "
        f"({answer.stderr.strip() or 'HTTP ' + answer.stdout.strip()}): check the site's "
        f"line to the data center and that nginx is up"
    )
