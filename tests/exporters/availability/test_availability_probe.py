"""One probe against real misbehaving servers: up when healthy, down with the right reason."""

from __future__ import annotations

import asyncio

import pytest

from exporters.availability.config import Check
from exporters.availability.httpclient import HttpClient
from exporters.availability.probe import ProbeResult, judge, probe
from exporters.availability.reasons import ProbeFailure
from exporters.availability.response import Response, parse_response

TIMEOUT = 0.5


async def probe_once(target, client: HttpClient | None = None, timeout: float = TIMEOUT):
    own = client or HttpClient()
    try:
        return await probe(own, target, asyncio.get_running_loop().time() + timeout)
    finally:
        if client is None:
            own.close()


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("hang", "timeout"),
        ("slow", "timeout"),
        ("reset", "connect"),
        ("error500", "http_status"),
        ("garbage", "http_status"),
        ("wrong_body", "body"),
        ("not_json", "body"),
    ],
)
def test_a_misbehaving_target_is_down_with_its_reason(servers, make_target, run, behaviour, reason):
    result: ProbeResult = run(probe_once(make_target(servers.url(behaviour))))
    assert (result.up, result.reason) == (False, reason)


@pytest.mark.parametrize("behaviour", ["ok", "chunked", "until_close", "interim"])
def test_a_healthy_target_is_up_however_it_frames_the_answer(servers, make_target, run, behaviour):
    result = run(probe_once(make_target(servers.url(behaviour))))
    assert (result.up, result.reason, result.status) == (True, None, 200)


def test_a_refused_connection_is_reason_connect(make_target, run, refused_url):
    result = run(probe_once(make_target(refused_url)))
    assert (result.up, result.reason) == (False, "connect")


def test_an_unresolvable_host_is_reason_dns(make_target, run):
    result = run(probe_once(make_target("http://portal.invalid/dvc/00376/c-marriage/health")))
    assert (result.up, result.reason) == (False, "dns")


def test_a_peer_that_does_not_speak_tls_is_reason_tls(servers, make_target, run):
    url = f"https://127.0.0.1:{servers.ports['tls_peer']}/dvc/00376/c-marriage/health"
    result = run(probe_once(make_target(url)))
    assert (result.up, result.reason) == (False, "tls")


def test_a_service_may_expect_another_status_and_text(servers, make_target, run):
    check = Check(statuses=frozenset({500}), json_fields=None, text="error")
    result = run(probe_once(make_target(servers.url("error500"), check)))
    assert result.up


def test_fresh_connections_open_one_connection_per_probe(servers, make_target, run):
    target = make_target(servers.url("ok"))
    before = servers.accepted["ok"]

    async def three() -> list[ProbeResult]:
        return [await probe_once(target) for _ in range(3)]

    assert all(r.up for r in run(three()))
    assert servers.accepted["ok"] - before == 3


def test_reused_connections_carry_several_probes(servers, make_target, run):
    target = make_target(servers.url("ok"))
    before = servers.accepted["ok"]

    async def three() -> tuple[list[ProbeResult], int]:
        client = HttpClient(reuse_connections=True)
        try:
            found = [await probe_once(target, client) for _ in range(3)]
            return found, client.idle_connections()
        finally:
            client.close()

    found, idle = run(three())
    assert all(r.up for r in found)
    assert (servers.accepted["ok"] - before, idle) == (1, 1)


def test_a_reused_connection_is_dropped_after_a_failure(servers, make_target, run):
    target = make_target(servers.url("error500"))

    async def twice() -> int:
        client = HttpClient(reuse_connections=True)
        try:
            await probe_once(target, client)
            await probe_once(target, client)
            return client.idle_connections()
        finally:
            client.close()

    assert run(twice()) == 0


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (Response(200, b'{"status": "ok", "db": "up"}', True), None),
        (Response(503, b'{"status": "ok"}', True), "http_status"),
        (Response(200, b'{"status": "degraded"}', True), "body"),
        (Response(200, b'["status", "ok"]', True), "body"),
        (Response(200, b"", True), "body"),
    ],
)
def test_judge_names_what_is_wrong_with_an_answer(response, reason):
    failure = judge(Check(), response)
    assert (failure.reason if failure else None) == reason


def test_the_parser_waits_for_the_whole_body():
    buf = bytearray(b'HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"status"')
    assert parse_response(buf, at_eof=False) is None
    buf += b':"ok"}'
    assert parse_response(buf, at_eof=False) == Response(200, b'{"status":"ok"}', True)


def test_the_parser_treats_a_truncated_body_as_a_lost_connection():
    buf = bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{")
    with pytest.raises(ProbeFailure, match="connect: connection closed after 1 of 15 bytes"):
        parse_response(buf, at_eof=True)
