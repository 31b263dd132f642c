"""The fault matrix: each component of the lab against each way it can fail.

A cell says what the drill does, which alerts must reach which receiver, how long
production's exporters take to see the fault (`detect`, seconds, before Prometheus'
scrape), and which parts of the lab it takes away (`breaks`) or is watched through
(`needs`). Two cells run at the same time only when neither breaks what the other breaks
or needs (a stopped availability exporter would hide a stopped nginx; a stopped Kannel
would hide a silent SMSC link); otherwise they run in the order listed here
(tests/exporters/drills/runner.py). Every cell needs the alerting pipeline
(Prometheus, Alertmanager, the recorder), so the cells that break it (the monitoring
lane) run alone, after the others.

Lanes group cells for the report and say which alerts their faults may raise, for the
check that no unrelated critical alert fires.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import inventory
from infra.lab import lifecycle, tls
from infra.lab.handle import LabHandle
from tests.exporters.drills import faults
from tests.exporters.drills.impostor import Impostor
from tests.exporters.drills.watch import Monitor, http

# Ports the impostors stand in on, and how long they make each connection wait: longer
# than the timeout of whoever reads that port (probe 4 s, scrape at most 5 s, status
# 4.5 s, round trip 8 s).
SLOWER_THAN_PROBE = 6.0
SLOWER_THAN_SCRAPE = 7.0
SLOWER_THAN_ROUND_TRIP = 12.0
EXPORTER_PORTS = {
    "availability": 9601,
    "kannel": 9602,
    "citizen-db": 9604,
    "readiness": 9605,
    "sms-relay": 9606,
}

# The parts of the lab a cell may break or be watched through (`Cell.breaks`, `.needs`).
PROMETHEUS, ALERTMANAGER = "prometheus", "alertmanager"
RECORDER, SWITCH = "notification recorder", "dead-man's switch"
# What every alert of a cell other than the monitoring lane's reaches its receiver through.
PIPELINE = frozenset({PROMETHEUS, ALERTMANAGER, RECORDER})
NGINX, CERTIFICATE = "nginx", "portal certificate"
KANNEL, SMSBOX, ROUND_TRIP = "kannel", "smsbox", "SMS round trip"
POSTGRES = "postgres"


def exporter_part(name: str) -> str:
    return f"{name} exporter"


# A lane whose faults may raise any alert (it silences the others' evidence).
ANY = frozenset({"*"})


@dataclass(frozen=True)
class Expect:
    """An alert that must be notified, then resolved: name, severity, receiver, labels
    (a None label value: the label must be absent)."""

    alertname: str
    severity: str
    receiver: str
    labels: Mapping[str, str | None] = field(default_factory=dict)

    def wanted(self) -> dict[str, str | None]:
        return {"alertname": self.alertname, "severity": self.severity, **self.labels}

    def key(self) -> str:
        extra = ",".join(f"{k}={v or '∅'}" for k, v in sorted(self.labels.items()))
        return f"{self.alertname}{{{extra}}}→{self.receiver}"


@dataclass(frozen=True)
class Cell:
    component: str
    failure: str
    how: str
    fault: Callable[[], faults.Fault]
    expect: tuple[Expect, ...]
    detect: float  # production: seconds from the fault to the exporter reporting it
    breaks: frozenset[str]  # no other cell breaks or needs these while this one runs
    needs: frozenset[str] = frozenset()  # no other cell breaks these while this one runs

    @property
    def name(self) -> str:
        return f"{self.component} / {self.failure}"

    def conflicts(self, other: Cell) -> bool:
        """Whether the two would blind or mask each other if run at the same time."""
        return bool(self.breaks & (other.breaks | other.needs) or other.breaks & (self.needs))


@dataclass(frozen=True)
class Lane:
    name: str
    related: frozenset[str]  # alerts this lane's faults may raise
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Target:
    """A part the drills break: its container, the alerts that must say so, what breaking
    it takes away and what those alerts are seen through (the pipeline is added)."""

    component: str
    container: str
    expect: tuple[Expect, ...]
    breaks: frozenset[str]
    needs: frozenset[str] = frozenset()
    pipeline: frozenset[str] = PIPELINE

    def cell(
        self,
        failure: str,
        how: str,
        fault: Callable[[], faults.Fault],
        detect: float,
        *,
        breaks: frozenset[str] = frozenset(),
    ) -> Cell:
        return Cell(
            self.component,
            failure,
            how,
            fault,
            self.expect,
            detect,
            self.breaks | breaks,
            self.needs | self.pipeline,
        )


@dataclass(frozen=True)
class Context:
    """What the cells need to know about the lab they break."""

    lab: LabHandle
    monitor: Monitor

    def container(self, role: str) -> str:
        return str(self.lab.containers[role])

    def exporter(self, name: str) -> str:
        return str(self.lab.containers["exporters"][name])

    def districts(self) -> list[tuple[str, str]]:
        return [(d["code"], d["name"]) for d in self.lab.sample["districts"]]

    def pairs(self, count: int) -> list[inventory.Pair]:
        """`count` pairs at distinct sampled communes, taken in turn from each district
        (a handful of a district's pairs: never the half that makes a district outage)."""
        pairs = inventory.load().pairs()
        per_district = [
            [
                next(p for p in pairs if p.place.code == site)
                for site in d["sites"]
                if len(site) == 5
            ]
            for d in self.lab.sample["districts"]
        ]
        chosen = [pair for turn in zip(*per_district, strict=False) for pair in turn]
        if len(chosen) < count:
            raise ValueError(f"the lab samples {len(chosen)} communes, the drill needs {count}")
        return chosen[:count]

    # One way to fail each, the same for whatever container it is done to.

    def stopped(self, t: Target, detect: float, how: str = "docker stop") -> Cell:
        return t.cell("stopped", how, lambda: faults.Stopped(self.monitor, t.container), detect)

    def hung(self, t: Target, detect: float, how: str = "docker pause") -> Cell:
        return t.cell("hung", how, lambda: faults.Hung(self.monitor, t.container), detect)

    def frozen(self, t: Target, process: str, detect: float, how: str) -> Cell:
        """SIGSTOP to one process of the container: alive, its port open, no answer."""
        return t.cell(
            "hung", how, lambda: faults.Frozen(self.monitor, t.container, process), detect
        )

    def cut_off(self, t: Target, network: str, detect: float, how: str = "") -> Cell:
        how = how or f"docker network disconnect {network}"
        return t.cell(
            "cut off", how, lambda: faults.CutOff(self.monitor, t.container, network), detect
        )

    def slow(
        self, t: Target, network: str, ports: dict[int, float], detect: float, how: str = ""
    ) -> Cell:
        """An impostor takes the container's name on `network`, late by `ports[port]` s."""
        late = max(ports.values())
        how = how or f"impostor on {network}, {late:g} s before each connection"
        fault = lambda: Impostor(self.lab, t.container, network, ports)  # noqa: E731
        return t.cell("slow", how, fault, detect)

    def garbage(self, t: Target, network: str, port: int, detect: float) -> Cell:
        how = f"impostor on {network} answering an HTML page"
        fault = lambda: Impostor(self.lab, t.container, network, {port: 0}, mode="garbage")  # noqa: E731
        return t.cell("wrong answer", how, fault, detect)

    def call(
        self,
        t: Target,
        failure: str,
        how: str,
        do: Callable[[], object],
        undo: Callable[[], object],
        detect: float,
        breaks: frozenset[str] = frozenset(),
    ) -> Cell:
        """A fault done through the part's own interface (an admin API, SQL, a file)."""
        return t.cell(failure, how, lambda: faults.Call(do, undo), detect, breaks=breaks)

    def exporter_cells(
        self, name: str, expect: tuple[Expect, ...], failures: tuple[str, ...] = ()
    ) -> list[Cell]:
        """An exporter stopped, hung, cut off from Prometheus, too slow for the scrape, or
        answering something that is not an exposition: Prometheus' scrape fails each way."""
        t = Target(
            f"{name} exporter", self.exporter(name), expect, frozenset({exporter_part(name)})
        )
        port = EXPORTER_PORTS[name]
        late = f"impostor on mgmt, {SLOWER_THAN_SCRAPE:g} s before each answer"
        cells = [
            self.stopped(t, 0),
            self.hung(t, 10),
            self.cut_off(t, "mgmt", 10),
            self.slow(t, "mgmt", {port: SLOWER_THAN_SCRAPE}, 10, late),
            self.garbage(t, "mgmt", port, 0),
        ]
        return [c for c in cells if not failures or c.failure in failures]


def _district_outage(ctx: Context, evidence: str | None) -> tuple[Expect, ...]:
    found = tuple(
        Expect(
            "DvcDistrictOutage",
            "critical",
            f"oncall-{code}",
            {"district_code": code, "district": name, "evidence": evidence},
        )
        for code, name in ctx.districts()
    )
    if evidence == "missing":
        city = Expect("DvcDistrictOutage", "critical", "default", {"scope": "city", **_missing()})
        found = (*found, city)
    return found


def _missing() -> dict[str, str | None]:
    return {"evidence": "missing"}


def _observed() -> dict[str, str | None]:
    return {"evidence": None}


def _receiver_lane(ctx: Context) -> Lane:
    """The recorder (the on-call receivers' stand-in) stopped, then an alert to deliver:
    first of all, since every other cell's notifications go there; while its alert
    waits a minute to resolve (`increase(...[1m])`), the other lanes run."""
    webhook = ctx.container("webhook")

    def post_probe_alert() -> object:
        """An alert Alertmanager must deliver to the (stopped) recorder: it fails."""
        ends = (datetime.now(UTC) + timedelta(seconds=90)).isoformat()
        alert = [
            {
                "labels": {
                    "alertname": "DvcDrillDeliveryProbe",
                    "severity": "none",
                    "district_code": "",
                },
                "endsAt": ends,
            }
        ]
        return http("POST", f"{ctx.monitor.url('alertmanager')}/api/v2/alerts", alert)

    receiver_down = faults.Stopped(ctx.monitor, webhook)

    def stop_receiver_and_send() -> None:
        receiver_down.apply()
        post_probe_alert()

    failing = (Expect("DvcNotificationsFailing", "critical", "heartbeat", _observed()),)
    t = Target(
        "notification receiver (recorder)",
        webhook,
        failing,
        frozenset({RECORDER}),
        frozenset({PROMETHEUS, ALERTMANAGER, SWITCH}),
        pipeline=frozenset(),
    )
    cell = ctx.call(
        t,
        "stopped",
        "docker stop of the recorder, then an alert to deliver",
        stop_receiver_and_send,
        receiver_down.undo,
        0,
    )
    return Lane("receiver", frozenset({"DvcNotificationsFailing"}), (cell,))


def _sms_lane(ctx: Context) -> Lane:
    sim = str(ctx.lab.containers["smsc_sim"]["sim-a"])

    def sim_admin(command: str) -> Callable[[], object]:
        """The simulator's admin call at its port as published now; refused or unanswered:
        the drill says so (a call that went nowhere would leave its cell waiting in vain)."""

        def call() -> object:
            ctx.monitor.refresh()
            url = str(ctx.lab.endpoints["smsc_sim"]["sim-a"]).rstrip("/")
            status, body = http("POST", f"{url}/admin/{command}")
            if status != 200:
                raise RuntimeError(f"SMSC simulator sim-a /admin/{command}: {status} {body!r}")
            return body

        return call

    password = str(ctx.lab.credentials["kannel_admin_password"])

    def admin(command: str, **params: str) -> Callable[[], object]:
        """A Kannel admin command at Kannel's port as published now; refused: the drill says so
        (a command that went nowhere would leave its cell waiting for an alert in vain)."""
        query = urllib.parse.urlencode({**params, "password": password})

        def call() -> object:
            ctx.monitor.refresh()
            status, body = http("GET", f"{ctx.monitor.url('kannel_admin')}/{command}?{query}")
            if status != 200:
                raise RuntimeError(f"Kannel admin {command}: {status} {body!r}")
            return body

        return call

    watched = frozenset({exporter_part("kannel")})
    kannel = ctx.container("kannel")
    round_trip = (Expect("DvcSmsEndToEndFailing", "critical", "default", _observed()),)
    gateway = Target(
        "Kannel bearerbox",
        kannel,
        (Expect("DvcSmsGatewayDown", "critical", "default", _observed()),),
        frozenset({KANNEL}),
        watched,
    )
    # The round trip goes through smsbox and the loopback SMSC, never to an operator's.
    smsbox = Target(
        "Kannel smsbox", kannel, round_trip, frozenset({SMSBOX, ROUND_TRIP}), watched | {KANNEL}
    )
    # An impostor for smsbox stands in for the whole container on `app`: Kannel is parted
    # from the operator's link too.
    stand_in = Target(
        "Kannel smsbox", kannel, round_trip, frozenset({KANNEL, SMSBOX, ROUND_TRIP}), watched
    )
    loopback = Target(
        "SMSC link loopback",
        kannel,
        (*round_trip, Expect("DvcSmscOffline", "warning", "default", {"smsc": "loopback"})),
        frozenset({ROUND_TRIP}),
        watched | {KANNEL},
    )
    link = Target(
        "SMSC link sim-a (SMPP)",
        sim,
        (Expect("DvcSmscOffline", "warning", "default", {"smsc": "sim-a"}),),
        frozenset({"sim-a"}),
        watched | {KANNEL},
    )
    # Production's Kannel drops an SMPP peer that answers nothing for its
    # connection-timeout (30 s) after the enquire-link (every 10 s) it leaves unanswered.
    silent_peer = 40
    cells = [
        ctx.stopped(link, 10, "docker stop of the operator's simulator"),
        ctx.frozen(smsbox, "smsbox", 90, "SIGSTOP to smsbox (bearerbox runs on)"),
        ctx.hung(link, silent_peer, "docker pause of the operator's simulator"),
        ctx.call(
            loopback,
            "stopped",
            "Kannel admin `stop-smsc` loopback",
            admin("stop-smsc", smsc="loopback"),
            admin("start-smsc", smsc="loopback"),
            90,
        ),
        ctx.cut_off(link, "app", silent_peer, "docker network disconnect app (the simulator)"),
        ctx.call(
            link,
            "wrong answer",
            "the simulator refuses binds (`/admin/offline`)",
            sim_admin("offline"),
            sim_admin("online"),
            10,
        ),
        ctx.slow(
            stand_in,
            "app",
            {13000: 0, 13013: SLOWER_THAN_ROUND_TRIP},
            90,
            f"impostor on app, sendsms {SLOWER_THAN_ROUND_TRIP:g} s late",
        ),
        ctx.stopped(gateway, 0, "docker stop (bearerbox and smsbox)"),
        ctx.frozen(gateway, "bearerbox", 10, "SIGSTOP to bearerbox: alive, port open, no answer"),
        ctx.cut_off(gateway, "app", 10),
        ctx.slow(gateway, "app", {13000: SLOWER_THAN_PROBE, 13013: SLOWER_THAN_PROBE}, 10),
        ctx.call(
            gateway,
            "wrong answer",
            "Kannel admin `suspend`: status says suspended",
            admin("suspend"),
            admin("resume"),
            0,
        ),
        *ctx.exporter_cells(
            "kannel", (Expect("DvcSmsGatewayDown", "critical", "default", _missing()),)
        ),
    ]
    related = {
        "DvcSmsGatewayDown",
        "DvcSmsEndToEndFailing",
        "DvcSmscOffline",
        "DvcSmsQueueBacklog",
        "DvcSmsRelayGatewayFailing",
        "DvcExporterStale",
    }
    return Lane("sms", frozenset(related), tuple(cells))


def _portal_lane(ctx: Context) -> Lane:
    nginx = ctx.container("nginx")
    names = lifecycle.tls_names(ctx.lab.stack)
    good = tls.ensure(ctx.lab.stack, names).server

    def install(cert: tls.Certificate) -> None:
        faults.put_file(nginx, "/etc/nginx/tls/portal.pem", cert.cert)
        faults.put_file(nginx, "/etc/nginx/tls/portal.key", cert.key)
        faults.exec_ok(nginx, ["nginx", "-s", "reload"])

    def foreign() -> None:
        install(tls.issue(tls.make_ca("not the city's CA"), names))

    def expiring() -> None:
        install(tls.issue(tls.lab_ca(ctx.lab.stack), names, days=10))

    token = str(ctx.lab.credentials["portal_admin_token"])
    watched = frozenset({exporter_part("availability")})
    front = Target(
        "portal front (nginx)", nginx, _district_outage(ctx, None), frozenset({NGINX}), watched
    )
    certificate = Target(
        "portal front (nginx)",
        nginx,
        (Expect("DvcCertificateExpiringSoon", "warning", "default"),),
        frozenset({CERTIFICATE}),
        watched | {NGINX},
    )

    def unit_cell(pair: inventory.Pair, failure: str, mode: str, delay: float = 5) -> Cell:
        """One unit's service failing at the portal (its admin fault API), nginx fine."""
        where = f"{pair.place.code}/{pair.service.code}"
        url = f"{ctx.monitor.url('portal')}/admin/faults/{where}"
        labels = {k: str(v) for k, v in pair.labels.items()}
        down = (Expect("DvcServiceDown", "warning", f"oncall-{pair.place.district_code}", labels),)
        t = Target(
            "one unit-service", nginx, down, frozenset({f"service {where}"}), watched | {NGINX}
        )
        how = f"portal fault `{mode}`" + (f" {delay:g} s" if mode == "slow" else "")
        how += " (503)" if mode == "disable" else ""
        return ctx.call(
            t,
            failure,
            f"{how} on {where}",
            lambda: http("PUT", url, {"mode": mode, "delay_seconds": delay}, token=token),
            lambda: http("DELETE", url, token=token),
            20,
        )

    a, b, c, d = ctx.pairs(4)
    cells = [
        ctx.stopped(front, 20),
        ctx.hung(front, 20),
        ctx.cut_off(front, "dmz", 20),
        ctx.slow(front, "dmz", {443: SLOWER_THAN_PROBE, 80: SLOWER_THAN_PROBE}, 20),
        ctx.call(
            front,
            "wrong answer",
            "a certificate from another CA",
            foreign,
            lambda: install(good),
            20,
            breaks=frozenset({CERTIFICATE}),
        ),
        ctx.call(
            certificate,
            "certificate expiring",
            "a certificate from the lab CA valid 10 days",
            expiring,
            lambda: install(good),
            20,
        ),
        unit_cell(a, "stopped", "disable"),
        unit_cell(b, "hung", "slow", 300),
        unit_cell(c, "slow", "slow", SLOWER_THAN_PROBE),
        unit_cell(d, "wrong answer", "wrong_body"),
        *ctx.exporter_cells("availability", _district_outage(ctx, "missing")),
    ]
    related = {
        "DvcDistrictOutage",
        "DvcServiceDown",
        "DvcCertificateExpiringSoon",
        "DvcDistrictErrorBudgetBurn",
        "DvcServiceErrorBudgetBurn",
        "DvcExporterStale",
    }
    return Lane("portal", frozenset(related), tuple(cells))


def _db_lane(ctx: Context) -> Lane:
    db = Target(
        "citizen database",
        ctx.container("postgres"),
        (Expect("DvcCitizenDbDown", "critical", "default", _observed()),),
        frozenset({POSTGRES}),
        frozenset({exporter_part("citizen-db")}),
    )
    cells = [
        ctx.stopped(db, 20),
        ctx.hung(db, 31, "docker pause: connections accepted, no answer"),
        ctx.cut_off(db, "data", 20),
        ctx.slow(db, "data", {5432: SLOWER_THAN_PROBE}, 20),
        ctx.call(
            db,
            "wrong answer",
            "the citizens table renamed: lookups fail",
            lambda: ctx.lab.psql("ALTER TABLE citizens RENAME TO citizens_drill"),
            lambda: ctx.lab.psql("ALTER TABLE citizens_drill RENAME TO citizens"),
            20,
        ),
        *ctx.exporter_cells(
            "citizen-db", (Expect("DvcCitizenDbDown", "critical", "default", _missing()),)
        ),
    ]
    return Lane("citizen-db", frozenset({"DvcCitizenDbDown", "DvcExporterStale"}), tuple(cells))


def _readiness_lane(ctx: Context) -> Lane:
    stale = (Expect("DvcExporterStale", "warning", "default", {"job": "readiness"}),)
    related = {"DvcExporterStale", "DvcReadinessResultsStale", "DvcSiteNotReadyNearGoLive"}
    return Lane("readiness", frozenset(related), tuple(ctx.exporter_cells("readiness", stale)))


def _relay_lane(ctx: Context) -> Lane:
    """The SMS relay (Alertmanager's way to the on-call phones) as an exporter nobody reads.

    During the drills Alertmanager notifies the recorder only, so an impostor in the
    relay's place is met by Prometheus' scrape alone.
    """
    missing = (Expect("DvcSmsRelayGatewayFailing", "critical", "default", _missing()),)
    cells = ctx.exporter_cells("sms-relay", missing)
    related = {"DvcSmsRelayGatewayFailing", "DvcExporterStale"}
    return Lane("sms-relay", frozenset(related), tuple(cells))


def _monitoring_lane(ctx: Context) -> Lane:
    missing = (Expect("DvcHeartbeatMissing", "critical", "deadman"),)
    prometheus = Target(
        "Prometheus",
        ctx.container("prometheus"),
        missing,
        frozenset({PROMETHEUS}),
        frozenset({ALERTMANAGER, SWITCH}),
        pipeline=frozenset(),
    )
    alertmanager = Target(
        "Alertmanager",
        ctx.container("alertmanager"),
        missing,
        frozenset({ALERTMANAGER}),
        frozenset({PROMETHEUS, SWITCH}),
        pipeline=frozenset(),
    )
    # Production, from the fault to the switch's page: Alertmanager keeps the watchdog
    # 4 resend delays (60 s) after Prometheus goes, heartbeats come every minute, and the
    # switch waits two missed minutes: 240 s for Prometheus, 180 s for Alertmanager.
    cells = [
        ctx.stopped(prometheus, 240),
        ctx.hung(prometheus, 240),
        ctx.cut_off(prometheus, "mgmt", 240),
        ctx.stopped(alertmanager, 180),
        ctx.hung(alertmanager, 180),
        ctx.cut_off(alertmanager, "mgmt", 180),
    ]
    # With Prometheus or Alertmanager away, any alert may come late or all at once.
    return Lane("monitoring", ANY, tuple(cells))


def lanes(ctx: Context) -> list[Lane]:
    """In the order the runner starts their cells: the recorder first (everything's
    notifications go through it), the longest lane next, the monitoring lane last."""
    return [
        _receiver_lane(ctx),
        _sms_lane(ctx),
        _portal_lane(ctx),
        _db_lane(ctx),
        _readiness_lane(ctx),
        _relay_lane(ctx),
        _monitoring_lane(ctx),
    ]
