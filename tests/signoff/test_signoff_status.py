"""The status server's plain endpoints and its command-line checks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from dvc_rollout.cli import main
from signoff import status


@pytest.fixture
def url(tmp_path):
    sources = status.Sources("http://127.0.0.1:1", "http://127.0.0.1:1", tmp_path / "no.db", 5, 1)
    server = status.make_server("127.0.0.1:0", sources).start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_status_json_names_every_unreachable_source(url):
    with urllib.request.urlopen(f"{url}/status.json", timeout=30) as response:
        snap = json.load(response)
    assert set(snap["errors"]) == {"prometheus", "alertmanager", "readiness"}
    assert "no results store" in snap["errors"]["readiness"]
    assert snap["refresh_seconds"] == 5


def test_health_and_unknown_paths(url):
    with urllib.request.urlopen(f"{url}/healthz", timeout=30) as response:
        assert response.read() == b"ok\n"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{url}/nope", timeout=30)
    assert info.value.code == 404


@pytest.mark.parametrize("listen", ["8090", "127.0.0.1:http", ":8090"])
def test_bad_listen_address_is_a_usage_error(listen, capsys):
    assert main(["status", "serve", f"--listen={listen}"]) == 2
    assert "write host:port" in capsys.readouterr().err


def test_bad_window_is_a_usage_error(capsys):
    assert main(["signoff", "--phase=1", "--window=1day"]) == 2
    assert "write e.g. 24h" in capsys.readouterr().err
