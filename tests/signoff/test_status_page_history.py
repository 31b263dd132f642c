"""The status page with its history, as a browser shows it: bars and incident timeline.

A real Prometheus (Debian's, the sign-off bench's stand) holds two days of the recording
rules' series and of `ALERTS`, backfilled up to the moment the test starts; the page is
served by `signoff.status` and loaded in headless Chromium. The screenshot is decoded
and must hold the bars' colours (a down hour in red, degraded days in amber, good hours
in green), and the DOM the timeline's incident with its names and Hanoi times. This is
what on-call staff open after a night: the lab test (tests/exporters/test_oncall_lab.py)
shows the same page over a real outage.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import urllib.request
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench import prometheus_stand
from checks.results import Store
from signoff import status
from tests.chromium import browse

# The history ends AHEAD minutes after the fixture is made (a sample a minute), so the
# page still finds a value "now" on a loaded machine (a lookup sees 5 min back); whenever
# in that span the page is read, the hourly slot ending 3 h before falls in the bad
# stretch and no other does.
AHEAD = timedelta(minutes=15)
PAIR = 'district="Huyện Sóc Sơn",district_code="016",service="c-marriage"'
ALERT = (
    'alertname="DvcServiceDown",alertstate="firing",district="Huyện Sóc Sơn",'
    'district_code="016",service="c-marriage",severity="warning",unit="Xã Bắc Sơn"'
)
# The page's bar colours (signoff/templates/status.html.j2), as RGB. Red and amber are
# also an error box's border, a critical alert's text and a resolved incident's mark:
# the page below has none of the first two, and the bars are counted in pixels.
RED, AMBER, GREEN = (0xB3, 0x26, 0x1E), (0xE0, 0xA1, 0x00), (0x1B, 0x7F, 0x3B)
# Pixels of one bar at scale 1, a little under what Chromium draws (7 x 22, 16 x 22).
HOUR_BAR, DAY_BAR = 120, 300


def _bad(t0: datetime) -> tuple[datetime, datetime]:
    return t0 - timedelta(hours=3, minutes=20), t0 - timedelta(hours=2, minutes=40)


def _history(t0: datetime) -> str:
    """The pair down (0.5) in BAD, else up; its 24 h ratio 0.98 (amber days); the SMS
    gateway down in BAD too; no citizen-database series at all (grey, never green); one
    DvcServiceDown firing through BAD."""
    start, bad_from, bad_to = t0 - timedelta(days=2) + timedelta(hours=1), *_bad(t0)
    series = (
        ("dvc:district_service_availability:ratio_1h", PAIR, 0.5),
        ("dvc:district_service_availability:ratio_24h", PAIR, None),
        ("dvc:component_availability:ratio_1h", 'component="sms_gateway"', 0.0),
        ("dvc:component_availability:ratio_1h", 'component="sms_end_to_end"', 1.0),
        ("dvc:component_availability:ratio_24h", 'component="sms_end_to_end"', 1.0),
    )
    lines = []
    for name, labels, bad in series:
        if f"# TYPE {name} gauge" not in lines:
            lines.append(f"# TYPE {name} gauge")
        t = start
        while t <= t0 + AHEAD:
            value = 0.98 if bad is None else (bad if bad_from <= t <= bad_to else 1.0)
            lines.append(f"{name}{{{labels}}} {value} {t.timestamp():.0f}")
            t += timedelta(minutes=1)
    lines.append("# TYPE ALERTS gauge")
    t = bad_from
    while t <= bad_to:
        lines.append(f"ALERTS{{{ALERT}}} 1 {t.timestamp():.0f}")
        t += timedelta(seconds=30)
    # OpenMetrics wants each metric family's samples together, in time order.
    return "\n".join([*_grouped(lines), "# EOF", ""])


def _grouped(lines: list[str]) -> list[str]:
    families: dict[str, list[str]] = {}
    current = ""
    for line in lines:
        if line.startswith("# TYPE "):
            current = line.split()[2]
            families.setdefault(current, [line])
        else:
            families[current].append(line)
    out: list[str] = []
    for found in families.values():
        head, samples = found[0], found[1:]
        samples.sort(key=lambda s: (s.split("}")[0], int(s.rsplit(" ", 1)[1])))
        out += [head, *samples]
    return out


class _NoAlerts(BaseHTTPRequestHandler):
    """Alertmanager's v2 alerts API with nothing firing now (the night is over)."""

    def do_GET(self) -> None:
        body = json.dumps([]).encode()
        self.send_response(200 if self.path.startswith("/api/v2/alerts") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, datetime]]:
    """The status page's URL, over the backfilled Prometheus, an Alertmanager with no
    alert and an empty results store: every source answers, so no error box is drawn."""
    tmp = tmp_path_factory.mktemp("status-history")
    t0 = datetime.now(UTC).replace(second=0, microsecond=0)
    (tmp / "history.om").write_text(_history(t0), encoding="utf-8")
    prometheus_stand.backfill(tmp / "history.om", tmp / "data")
    Store(tmp / "results.sqlite")
    alertmanager = ThreadingHTTPServer(("127.0.0.1", 0), _NoAlerts)
    threading.Thread(target=alertmanager.serve_forever, daemon=True).start()
    am_url = f"http://127.0.0.1:{alertmanager.server_address[1]}"
    try:
        with prometheus_stand.serve(tmp / "data", ("availability",), 60) as url:
            sources = status.Sources(url, am_url, tmp / "results.sqlite", 60, 10.0)
            server = status.make_server("127.0.0.1:0", sources).start()
            try:
                yield f"http://127.0.0.1:{server.port}/", t0
            finally:
                server.stop()
    finally:
        alertmanager.shutdown()
        alertmanager.server_close()


def png_colours(path: Path) -> Counter[tuple[int, int, int]]:
    """How many pixels of each RGB colour an 8-bit, non-interlaced RGB(A) PNG holds
    (what Chromium writes; no image library is needed for that)."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind, body = raw[pos + 4 : pos + 8], raw[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    bpp = 4 if colour == 6 else 3
    data, stride = zlib.decompress(b"".join(chunks)), width * bpp
    previous, found = bytearray(stride), Counter[tuple[int, int, int]]()
    for y in range(height):
        kind, row = (
            data[y * (stride + 1)],
            bytearray(data[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                row[i] = (row[i] + best) & 0xFF
        found.update(zip(row[0::bpp], row[1::bpp], row[2::bpp], strict=True))
        previous = row
    return found


def test_the_screenshot_shows_the_bars_and_the_dom_the_incident_timeline(
    page: tuple[str, datetime], tmp_path: Path
) -> None:
    url, t0 = page
    head = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(head, timeout=30) as answer:
        assert answer.status == 200 and answer.read() == b""
    shot = tmp_path / "status-page-history.png"
    browse(f"{url}#history", tmp_path, f"--screenshot={shot}", "--window-size=1200,900")
    print(f"status page screenshot: {shot}")
    colours = png_colours(shot)
    # Two down hours (the pair, the SMS gateway), two degraded days, ~60 good bars.
    assert colours[RED] >= 2 * HOUR_BAR, f"not two down hours: {colours[RED]} red px"
    assert colours[AMBER] >= 2 * DAY_BAR, f"not two degraded days: {colours[AMBER]} amber px"
    assert colours[GREEN] >= 40 * HOUR_BAR, f"not the good hours: {colours[GREEN]} green px"
    dom = browse(url, tmp_path, "--dump-dom")
    assert 'id="error-' not in dom, "a source failed: the colours above may be its box"
    history = dom.split('id="history"')[1].split("</table>")[0]
    (row,) = re.findall(r"<tr><td>Huyện Sóc Sơn</td>.*?</tr>", history, re.DOTALL)
    assert "Đăng ký kết hôn" in row  # the service by name, not c-marriage
    hours, days = re.findall(r'<div class="bars(?: week)?">(.*?)</div>', row)
    hourly = re.findall(r'class="(b-\w+)"', hours)
    assert len(hourly) == 24 and hourly[-4] == "b-down", hourly
    assert hourly.count("b-up") == 23, hourly
    assert re.findall(r'class="(b-\w+)"', days) == ["b-none"] * 5 + ["b-part"] * 2
    assert "(UTC+7)" in hours
    sms = dom.split('id="panel-sms_switchboard"')[1].split("</table>")[0]
    assert sms.count("b-down") == 1 and "Tổng đài SMS" in sms
    citizen = dom.split('id="panel-citizen_db"')[1].split("</table>")[0]
    assert "b-up" not in citizen and "b-none" in citizen  # no data is grey, never green
    timeline = dom.split('id="incidents"')[1].split("</table>")[0]
    (incident,) = re.findall(r"<tr><td>\d.*?</tr>", timeline, re.DOTALL)
    started, ended = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+7\))", incident)
    hanoi = timezone_hanoi(_bad(t0)[0])
    began = datetime.strptime(started, "%Y-%m-%d %H:%M:%S (UTC+7)")
    assert abs(began - hanoi) <= timedelta(minutes=2), incident  # to within a query step
    assert ended > started
    assert "Huyện Sóc Sơn" in incident and "Đăng ký kết hôn" in incident
    assert 'class="resolved"' in incident and 'class="track"' in incident


def timezone_hanoi(moment: datetime) -> datetime:
    """`moment` as a naive Hanoi wall-clock time (UTC+7 all year)."""
    return (moment + timedelta(hours=7)).replace(tzinfo=None)
