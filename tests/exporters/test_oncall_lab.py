"""On call, in the lab: a district's outage reaches its people by e-mail and SMS, and back.

One flow on the session lab, in the order an on-call day has it: the district's services
stop (every probed pair of its sample disabled at the portal) -> an e-mail at the
district's (synthetic) address, read back from the lab's mail server, and an SMS at its
(synthetic) number, read back from the operator simulators; the services come back ->
a resolved e-mail and SMS. Then a maintenance window on that district: the same outage
sends neither (Alertmanager shows it silenced by the window), and the sign-off report
shows the window. Last, the status page shows the outages in its history bars and its
incident timeline, in headless Chromium (the screenshot is kept under reports/).
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

import inventory
from dvc_rollout.argtypes import HANOI
from dvc_rollout.cli import main
from exporters import rule_files
from infra import exporter_specs, lab_monitoring
from infra.lab import engine
from infra.lab import oncall as lab_oncall
from infra.lab.handle import LabHandle
from tests.chromium import browse

pytestmark = pytest.mark.lab

TIMEOUT = 180.0
POLL = 2.0
# Every probed service of the district stops: these alerts say so (the district-wide one
# holds back the per-service ones).
OUTAGE_ALERTS = ("DvcDistrictOutage", "DvcServiceDown")
QUIET = 40.0  # longer than the lab's `for:` (15 s) + group_wait (5 s) + a sweep
# Screenshots a person can look at after the run (reports/ is never committed).
ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "test-artifacts"


def http(method: str, url: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def wait_for(
    what: str,
    check: Callable[[], Any],
    timeout: float = TIMEOUT,
    seen: Callable[[], str] | None = None,
) -> Any:
    """`check()`'s first truthy answer, polled; past `timeout`, fail saying what was
    waited for and, from `seen()`, where along the way it stopped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(POLL)
    pytest.fail(f"{what}: not seen within {timeout:.0f} s" + (f"\n{seen()}" if seen else ""))


def _put_files(container: str, files: dict[str, str]) -> None:
    api = engine.client().api
    for path, text in files.items():
        target = PurePosixPath(path)
        buffer, content = io.BytesIO(), text.encode()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(target.name)
            info.size, info.mode, info.mtime = len(content), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(content))
        assert api.put_archive(container, str(target.parent), buffer.getvalue()), path


def outage_words(pairs: Iterable[Any]) -> tuple[str, ...]:
    """What a notification of the outage says: the fixed start of the outage alerts'
    Vietnamese summaries (read from the rules the lab runs; not their "cannot see it"
    twins) and the services' names (an SMS names services, never codes)."""
    words = {p.service.name_vi for p in pairs}
    rules = yaml.safe_load((rule_files.RULES_DIR / "alerts.yml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in OUTAGE_ALERTS and "evidence" not in rule.get("labels", {}):
                head = str(rule["annotations"].get("summary_vi", "")).split("{{")[0].strip()
                if len(head) >= 10:  # "Dịch vụ" alone would match anything
                    words.add(head)
    return tuple(words)


class OnCall:
    """The lab as one district's on-call sees it: mailbox, phone, and the portal's faults."""

    def __init__(self, lab: LabHandle) -> None:
        self.lab = lab
        self.district = lab.sample["districts"][0]["code"]
        self.name = inventory.load().districts[self.district].name
        self.email = lab_oncall.email(self.district)
        self.phone = lab_oncall.phone(self.district)
        sites = set(lab.sampled_units())
        self.pairs = [
            p for p in inventory.load().pairs(districts=[self.district]) if p.place.code in sites
        ]
        self.outage_words = outage_words(self.pairs)
        other = lab.sample["districts"][1]["code"]
        self.other_email, self.other_phone = lab_oncall.email(other), lab_oncall.phone(other)

    def url(self, role: str) -> str:
        return str(self.lab.endpoints[role]).rstrip("/")

    def mails(self, to: str = "") -> list[dict[str, Any]]:
        status, found = http("GET", f"{self.url('smtp')}/messages?to={to or self.email}")
        assert status == 200, found
        return list(found)

    def texts(self, to: str = "") -> list[dict[str, Any]]:
        """The texts at the district's number, their parts joined (Kannel sends a text
        longer than 70 UCS-2 characters as concatenated parts, each recorded alone)."""
        found: list[dict[str, Any]] = []
        for sim in self.lab.endpoints["smsc_sim"].values():
            status, got = http("GET", f"{str(sim).rstrip('/')}/messages")
            assert status == 200, got
            number = to or self.phone  # as the relay sends it, with or without a `+`
            mine = [m for m in got if str(m["to"]).lstrip("+") == number]
            for part in sorted(mine, key=lambda m: int(m["id"])):
                if found and found[-1]["sim"] == sim and not part["text"].startswith("[DVC]"):
                    found[-1]["text"] += part["text"]
                else:
                    found.append({**part, "sim": sim})
        return found

    def clear(self) -> None:
        http("DELETE", f"{self.url('smtp')}/messages")
        for sim in self.lab.endpoints["smsc_sim"].values():
            http("DELETE", f"{str(sim).rstrip('/')}/messages")

    def outage(self, on: bool) -> None:
        """Stop (or bring back) every probed service of the district's sample."""
        token = str(self.lab.credentials["portal_admin_token"])
        if not on:
            status, body = http("DELETE", f"{self.url('portal')}/admin/faults", token=token)
            assert status == 200, body
            return
        for pair in self.pairs:
            path = f"/admin/faults/{pair.place.code}/{pair.service.code}"
            status, body = http("PUT", self.url("portal") + path, {"mode": "disable"}, token)
            assert status == 200, body

    def firing(self, every: bool = False) -> list[dict[str, Any]]:
        """The district's outage alerts firing in Prometheus (`every`: all its alerts;
        the lab's desks, never checked, keep a readiness alert firing)."""
        only = "" if every else f',alertname=~"{"|".join(OUTAGE_ALERTS)}"'
        query = f'ALERTS{{alertstate="firing",district_code="{self.district}"{only}}}'
        params = urllib.parse.urlencode({"query": query})
        status, body = http("GET", f"{self.url('prometheus')}/api/v1/query?{params}")
        assert status == 200, body
        return list(body["data"]["result"])

    def seen(self) -> str:
        """Each stage of the way to the phone as it stands, for a failure message."""
        firing = sorted({a["metric"].get("alertname", "") for a in self.firing(every=True)})
        _, held = http("GET", f"{self.url('alertmanager')}/api/v2/alerts?active=true")
        ours = Counter(
            f"{a['labels'].get('alertname')}->{','.join(r['name'] for r in a['receivers'])}"
            f" ({a['status']['state']})"
            for a in (held if isinstance(held, list) else [])
            if a["labels"].get("district_code") == self.district
        )
        sent = self.metric(
            'sum by (integration) (alertmanager_notifications_total{job="alertmanager"})'
        )
        failed = self.metric('sum(alertmanager_notifications_failed_total{job="alertmanager"})')
        _, mails = http("GET", f"{self.url('smtp')}/messages")
        logs = engine.client().api.logs(self.lab.containers["alertmanager"], tail=8)
        return (
            f"Prometheus firing for {self.district}: {firing}\n"
            f"Alertmanager holds: {ours}\n"
            f"notifications sent (any): {sent}, failed: {failed}\n"
            f"mail server holds {len(mails) if isinstance(mails, list) else mails} messages "
            f"(to {sorted({t for m in mails for t in m['to']}) if isinstance(mails, list) else ''})"
            f"; texts at {self.phone}: {len(self.texts())}\n"
            f"alertmanager log:\n{logs.decode('utf-8', 'replace')}"
        )

    def silenced_by(self, silence: str) -> list[str]:
        """The district's outage alerts Alertmanager holds back under `silence`."""
        status, held = http("GET", f"{self.url('alertmanager')}/api/v2/alerts")
        assert status == 200, held
        return [
            a["labels"]["alertname"]
            for a in held
            if a["labels"].get("district_code") == self.district
            and a["labels"].get("alertname") in OUTAGE_ALERTS
            and silence in a["status"]["silencedBy"]
        ]

    def metric(self, promql: str) -> float | None:
        params = urllib.parse.urlencode({"query": promql})
        status, body = http("GET", f"{self.url('prometheus')}/api/v1/query?{params}")
        result = body["data"]["result"] if status == 200 else []
        return float(result[0]["value"][1]) if result else None


@pytest.fixture(scope="module")
def oncall(lab: LabHandle) -> Iterator[OnCall]:
    """The lab's drill timings and its full on-call config (an earlier test may have
    installed another), both servers reloaded, the mailbox and the phones emptied."""
    prefix = f"dvc-{lab.stack}-"
    sampled = [d["code"] for d in lab.sample["districts"]]
    alertmanager = str(lab.internal["alertmanager"]).removeprefix("http://")
    webhook = f"http://{lab.containers['webhook']}:9095/alerts/default"
    _put_files(
        lab.containers["prometheus"],
        lab_monitoring.prometheus_files(lab.outputs["scrape_targets"], alertmanager),
    )
    _put_files(
        lab.containers["alertmanager"],
        lab_monitoring.alertmanager_files(
            webhook,
            oncall=lab_oncall.parse(inventory.load(), sampled),
            delivery=lab_monitoring.lab_delivery(prefix, exporter_specs.sms_relay_url(prefix)),
        ),
    )
    found = OnCall(lab)
    for role in ("prometheus", "alertmanager"):
        status, body = http("POST", f"{found.url(role)}/-/reload")
        assert status == 200, f"{role} did not reload: {body}"
    wait_for(
        "the SMS relay scraped",
        lambda: found.metric('up{job="sms_relay"}') == 1,
    )
    found.clear()
    yield found
    found.outage(False)


def _mail(found: OnCall, state: str) -> list[dict[str, Any]]:
    """The district's e-mails saying `state` about the outage (the lab also mails its
    other alerts, e.g. desks never checked, to the same people)."""
    words = found.outage_words
    return [
        m for m in found.mails() if state in m["subject"] and any(w in m["text"] for w in words)
    ]


def _text(found: OnCall, state: str) -> list[dict[str, Any]]:
    words = found.outage_words
    return [t for t in found.texts() if state in t["text"] and any(w in t["text"] for w in words)]


def _both(found: OnCall, state: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """The district's e-mails and texts saying `state`, once there is at least one of each."""
    mails, texts = _mail(found, state), _text(found, state)
    return (mails, texts) if mails and texts else None


def test_an_outage_mails_and_texts_the_district_then_says_it_is_over(oncall: OnCall) -> None:
    oncall.outage(True)
    try:
        (mail, *_), (text, *_) = wait_for(
            "the firing e-mail and SMS", lambda: _both(oncall, "ĐANG LỖI"), seen=oncall.seen
        )
    finally:
        oncall.outage(False)
    # Only that district's people: the other sampled district heard nothing of it.
    assert not [m for m in oncall.mails(oncall.other_email) if oncall.name in m["subject"]]
    assert not [t for t in oncall.texts(oncall.other_phone) if oncall.name in t["text"]]
    assert mail["to"] == [oncall.email]
    # Delivered: a file of the mail server's Maildir, not only an answer over HTTP.
    stored = oncall.lab.exec(
        oncall.lab.containers["smtp"], ["find", "/var/lib/smtp/Maildir", "-name", f"{mail['id']}*"]
    )
    assert stored.exit_code == 0 and "/Maildir/" in stored.output, stored
    assert mail["subject"].strip().startswith(f"[DVC] ĐANG LỖI: {oncall.name} — ")
    assert "(UTC+7)" in mail["text"] and "Từ / since:" in mail["text"]
    assert "ĐANG LỖI" in mail["html"]
    assert text["text"].startswith(f"[DVC] {oncall.name}: ĐANG LỖI - ")
    assert text["text"].endswith("(UTC+7)")
    assert text["to"].lstrip("+") == oncall.phone
    (back, *_), (sms, *_) = wait_for(
        "the resolved e-mail and SMS", lambda: _both(oncall, "ĐÃ KHẮC PHỤC"), seen=oncall.seen
    )
    assert back["subject"].strip().startswith(f"[DVC] ĐÃ KHẮC PHỤC: {oncall.name}")
    assert sms["text"].startswith(f"[DVC] {oncall.name}: ĐÃ KHẮC PHỤC - ")


def test_a_maintenance_window_holds_both_and_the_signoff_shows_it(
    oncall: OnCall, lab: LabHandle, tmp_path, capsys
) -> None:
    wait_for("the district quiet again", lambda: not oncall.firing(), seen=oncall.seen)
    oncall.clear()
    until = (datetime.now(HANOI) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    argv = ["maintenance", "add", "--lab", lab.stack, "--district", oncall.district, "--json"]
    argv += ["--to", until, "--reason", "Nâng cấp đường truyền (kiểm thử)"]
    assert main([*argv, "--author", "LAB PART test"]) == 0
    silence = json.loads(capsys.readouterr().out)["id"]
    try:
        oncall.outage(True)
        try:
            wait_for("the outage firing in Prometheus", oncall.firing, seen=oncall.seen)
            wait_for(
                "Alertmanager holding the outage back under the window",
                lambda: oncall.silenced_by(silence),
                seen=oncall.seen,
            )
            time.sleep(QUIET)  # what would have been sent by now is not
            assert oncall.mails() == [], oncall.seen()
            assert oncall.texts() == [], oncall.seen()
        finally:
            oncall.outage(False)
        argv = ["signoff", "--phase", "1", "--lab", lab.stack, "--window", "10m"]
        argv += ["--district", oncall.district, "--json", "--no-pdf"]
        argv += ["--reports", str(tmp_path), "--results", str(tmp_path / "none.sqlite")]
        main(argv)
        report = json.loads(capsys.readouterr().out)
        (window,) = [m for m in report["evidence"]["maintenance"] if m["id"] == silence]
        assert window["district_code"] == oncall.district
        assert window["author"] == "LAB PART test"
        markdown = next(tmp_path.glob("*.md")).read_text(encoding="utf-8")
        assert "Nâng cấp đường truyền (kiểm thử)" in markdown
    finally:
        assert main(["maintenance", "end", "--lab", lab.stack, silence]) == 0


def test_the_status_page_shows_history_bars_and_the_incident_timeline(
    oncall: OnCall, lab: LabHandle, tmp_path
) -> None:
    """The outages above are in Prometheus' ALERTS history: the page shows them, in a
    real browser; the screenshot is kept as a test artifact."""
    from signoff import status

    sources = status.Sources(
        oncall.url("prometheus"), oncall.url("alertmanager"), tmp_path / "none.sqlite", 60, 10.0
    )
    (incident, *_) = wait_for(
        "the district's outage, over, in the incident timeline",
        lambda: [
            i
            for i in status.snapshot(sources)["incidents"]
            if i["district_code"] == oncall.district
            and i["alertname"] in OUTAGE_ALERTS
            and any(w in i["summary_vi"] for w in oncall.outage_words)
            and i["ended"]
        ],
        seen=oncall.seen,
    )
    server = status.make_server("127.0.0.1:0", sources).start()
    try:
        url = f"http://127.0.0.1:{server.port}/"
        head = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(head, timeout=30) as answer:
            assert answer.status == 200 and answer.read() == b""
            assert int(answer.headers["Content-Length"]) > 1000
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"status-page-{lab.stack}.png"
        browse(url, tmp_path, f"--screenshot={shot}", "--window-size=1400,2400")
        dom = browse(url, tmp_path, "--dump-dom")
    finally:
        server.stop()
    print(f"status page screenshot: {shot}")
    assert shot.stat().st_size > 20_000
    history = dom.split('id="history"')[1].split("</table>")[0]
    rows = re.findall(
        rf'<tr><td>{re.escape(oncall.name)}</td><td title="([^"]+)">([^<]*)</td>(.*?)</tr>',
        history,
        re.DOTALL,
    )
    # Names, not codes: the plan's name, with its level where two levels share one.
    shown = {code: name for code, name, _ in rows}
    assert shown.keys() == {p.service.code for p in oncall.pairs}, rows
    for p in oncall.pairs:
        name = shown[p.service.code]
        assert name == status.names().service(p.service.code), rows
        assert name == p.service.name_vi or name.startswith(f"{p.service.name_vi} (cấp "), rows
    for code, _, bars in rows:
        hours, days = re.findall(r'<div class="bars(?: week)?">(.*?)</div>', bars, re.DOTALL)
        hourly = re.findall(r'class="(b-\w+)"', hours)
        assert len(hourly) == 24 and len(re.findall(r'class="b-', days)) == 7, bars
        # This hour held the outages above: its bar is not green.
        assert hourly[-1] in ("b-part", "b-down"), f"{code}: {hourly}"
    assert 'id="panel-sms_switchboard"' in dom and 'id="panel-citizen_db"' in dom
    timeline = dom.split('id="incidents"')[1].split("</table>")[0]
    found = [r for r in timeline.split("<tr>") if incident["summary_vi"] in r and oncall.name in r]
    assert found, f"no timeline row of {incident}: {timeline[:2000]}"
    # The same outage may have fired again since (the maintenance test's outage can still be
    # in ALERTS): the page lists each firing, newest first; the one that is over is resolved.
    over = [r for r in found if 'class="resolved"' in r]
    assert over, f"no resolved timeline row of {incident}: {found}"
    row = over[0]
    assert incident["ended"].endswith("(UTC+7)")
    assert re.search(r"<td>[^<]+\(UTC\+7\)</td><td>[^<]+\(UTC\+7\)</td>", row), row
    assert 'class="track"' in row
