"""Config files: defaults, per-service rules, and errors that say what to fix."""

from __future__ import annotations

import pytest

from exporters.availability.config import (
    DEFAULT_URL_TEMPLATE,
    Check,
    ProbeSettings,
    config_from_mapping,
    load_config,
)
from exporters.availability.errors import AvailabilityConfigError


def test_a_host_alone_gives_the_portal_defaults():
    config = config_from_mapping({"host": "portal.example"})
    rule = config.rule_for("d-civil-extract")
    assert rule.url_template == DEFAULT_URL_TEMPLATE
    assert rule.check == Check(frozenset({200}), (("status", "ok"),), None)
    assert config.probe == ProbeSettings()


def test_a_service_rule_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "availability.yml"
    path.write_text(
        "host: portal.example\n"
        "probe: {interval: 30, timeout: 10, concurrency: 64, reuse_connections: true}\n"
        "services:\n  c-birth: {expect_status: [200, 204]}\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.rule_for("c-birth").check == Check(frozenset({200, 204}))
    assert config.probe == ProbeSettings(30, 10, 64, True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"`host` must name the portal"),
        ({"host": "p", "hosts": 1}, r"unknown key\(s\) hosts"),
        ({"host": "p", "default": {"url": "http://{host}/{unit}"}}, r"unknown field\(s\) unit"),
        ({"host": "p", "default": {"url": "/relative"}}, r"url must be a URL template"),
        ({"host": "p", "default": {"expect_status": [700]}}, r"expect_status must be an HTTP"),
        ({"host": "p", "default": {"expect_json": []}}, r"expect_json must map keys"),
        ({"host": "p", "probe": {"timeout": "soon"}}, r"probe: could not convert"),
    ],
)
def test_a_bad_config_names_the_key_to_fix(data, message):
    with pytest.raises(AvailabilityConfigError, match=message):
        config_from_mapping(data)


def test_a_missing_config_file_says_so(tmp_path):
    with pytest.raises(AvailabilityConfigError, match=r"cannot read config file .*nope.yml"):
        load_config(tmp_path / "nope.yml")
