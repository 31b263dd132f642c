"""Parsers of what hosts print, fed with recorded output."""

from __future__ import annotations

import json

from checks import facts

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 1 1
   1: 0100007F:A2D4 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0200180A:1538 0300180A:C350 01 00000000:00000000 00:00000000 00000000   104        0 3 1
"""
PROC_NET_TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A
"""
FIB_TRIE = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
     |-- 172.24.0.0
        /16 link UNICAST
     |-- 172.24.0.3
        /32 host LOCAL
"""
TRACKING = """\
Reference ID    : AC180002 (172.24.0.2)
Stratum         : 9
System time     : 0.000009453 seconds slow of NTP time
Leap status     : Normal
"""
UNSYNCED = (
    "Reference ID    : 00000000 ()\nStratum         : 0\nLeap status     : Not synchronised\n"
)
KANNEL_STATUS = """<?xml version="1.0"?><gateway><status>running, uptime 0d 0h 1m 2s</status>
<smscs><count>2</count>
<smsc><name>HTTP:sim-a</name><admin-id>sim-a</admin-id><id>sim-a</id>
<status>online 60s</status></smsc>
<smsc><name>HTTP:sim-b</name><admin-id>sim-b</admin-id><id>sim-b</id>
<status>re-connecting</status></smsc>
</smscs></gateway>"""
KANNEL_CONF = """group = core
admin-port = 13000
admin-password = "admin-secret"
status-password = "status-secret"
group = smsbox
sendsms-port = 13013
"""


def test_listening_ports_with_their_addresses() -> None:
    found = facts.listening_ports(PROC_NET_TCP, PROC_NET_TCP6)
    assert found == {5432: {"0.0.0.0"}, 41684: {"127.0.0.1"}, 80: {"::"}}


def test_local_addresses_from_fib_trie() -> None:
    assert facts.local_addresses(FIB_TRIE) == {"127.0.0.1", "172.24.0.3"}


def test_chrony_tracking_synchronised() -> None:
    tracking = facts.chrony_tracking(TRACKING)
    assert tracking.synchronised and tracking.stratum == 9
    assert abs(tracking.offset_seconds - 0.000009453) < 1e-12


def test_chrony_tracking_not_synchronised() -> None:
    assert not facts.chrony_tracking(UNSYNCED).synchronised


def test_portal_config_and_shortcut() -> None:
    conf = "# managed\n[portal]\nurl = http://dvc-lab-nginx\n[site]\ncode = 016\n"
    assert facts.ini_value(conf, "portal", "url") == "http://dvc-lab-nginx"
    assert facts.ini_value(conf, "site", "missing") is None
    shortcut = "[Desktop Entry]\nName=Dịch vụ công\nExec=firefox-esr http://dvc-lab-nginx\n"
    assert facts.desktop_exec(shortcut) == "firefox-esr http://dvc-lab-nginx"


def test_free_bytes_from_df() -> None:
    df = (
        "Filesystem 1-blocks Used Available Capacity Mounted on\noverlay 270 28 80045080576 27% /\n"
    )
    assert facts.free_bytes(df) == 80045080576


def test_kannel_smscs_and_status_access() -> None:
    assert facts.kannel_smscs(KANNEL_STATUS) == {"sim-a": "online", "sim-b": "re-connecting"}
    assert facts.kannel_status_access(KANNEL_CONF) == (13000, "status-secret")


def test_prometheus_down_targets_name_job_instance_and_error() -> None:
    payload = {
        "data": {
            "activeTargets": [
                {"labels": {"job": "prometheus", "instance": "localhost:9090"}, "health": "up"},
                {
                    "labels": {"job": "readiness", "instance": "x:9602"},
                    "health": "down",
                    "lastError": "connection refused",
                },
            ]
        }
    }
    assert facts.prometheus_down_targets(json.dumps(payload)) == [
        "readiness x:9602: down (connection refused)"
    ]


def test_upstream_major_of_debian_versions() -> None:
    assert facts.upstream_major("153.8.0esr-1~deb12u1") == 153
    assert facts.upstream_major("1:128.5.0esr-1~deb12u1") == 128
    assert facts.upstream_major("esr") == 0
