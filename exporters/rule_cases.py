"""What the promtool test of alerts.yml feeds in, and which alerts must (not) fire.

Each case is a small story told in series (one sample a minute, `stale` where an
exporter stops being scraped) with the alerts expected at some minutes, at production
`for:` durations. Rendered into `rules/tests/alerts_test.yml` by `exporters.rule_tests`,
which also holds every critical alert to its missing-evidence paths (`covers`).
"""

from __future__ import annotations

from collections.abc import Mapping

from exporters.rule_tests import Case, Firing, Labels, Series

MISSING = {"evidence": "missing"}
DISTRICT_MISSING = {"scope": "district", **MISSING}
CITY_MISSING = {"scope": "city", **MISSING}
FAST = {"window": "1h/5m"}
SLOW = {"window": "6h/30m"}


def sample_pairs() -> dict[str, list[Labels]]:
    import inventory

    inv = inventory.load()
    out: dict[str, list[Labels]] = {}
    for code in ("016", "017"):
        out[code] = [dict(p.labels) for p in inv.pairs(districts=[code])[:4]]
    return out


def _target(job: str, instance: str) -> Labels:
    return {"job": job, "instance": instance}


AVAILABILITY = _target("availability", "availability:9601")
KANNEL = _target("kannel", "kannel-exporter:9602")
KANNEL_B = _target("kannel", "kannel-b:9602")
CITIZEN_DB = _target("citizen_db", "citizen-db-exporter:9604")
ALERTMANAGER = _target("alertmanager", "alertmanager:9093")
PROMETHEUS = _target("prometheus", "localhost:9090")


def _up(target: Labels, values: str) -> Series:
    return Series("up", target, values)


def _repeat(value: str, times: int) -> str:
    """`value` written out `times` times (promtool's `x` shorthand takes numbers only)."""
    return " ".join([value] * times)


def _nan(times: int, first: str = "1") -> str:
    """A series that answers `first`, then NaN `times` times."""
    return f"{first} {_repeat('NaN', times)}"


def _district(pair: Labels) -> Labels:
    return {k: pair[k] for k in ("district", "district_code")}


def cases(pairs: Mapping[str, list[Labels]]) -> list[Case]:
    """Every case, grouped by what it watches."""
    return [*_services(pairs), *_burn(pairs), *_sms(), *_citizen_db(), *_monitoring()]


def _services(pairs: Mapping[str, list[Labels]]) -> list[Case]:
    soc_son = [{**AVAILABILITY, **p} for p in pairs["016"]]
    dong_anh = [{**AVAILABILITY, **p} for p in pairs["017"]]
    both = soc_son + dong_anh
    return [
        Case(
            "one pair down in Soc Son: DvcServiceDown after 3m, no district outage",
            [Series("dvc_service_up", soc_son[0], "1 1 0x12"), _up(AVAILABILITY, "1x14")]
            + [Series("dvc_service_up", p, "1x14") for p in soc_son[1:]],
            [
                ("4m", "DvcServiceDown", []),
                ("6m", "DvcServiceDown", [Firing(soc_son[0], 0)]),
                ("6m", "DvcDistrictOutage", []),
            ],
        ),
        Case(
            "3 of 4 pairs down in Dong Anh: DvcDistrictOutage after 2m, Soc Son stays quiet",
            [Series("dvc_service_up", p, "1 0x14") for p in dong_anh[:3]]
            + [Series("dvc_service_up", dong_anh[3], "1x15"), _up(AVAILABILITY, "1x15")]
            + [Series("dvc_service_up", p, "1x15") for p in soc_son],
            [
                ("2m", "DvcDistrictOutage", []),
                ("4m", "DvcDistrictOutage", [Firing(_district(dong_anh[0]), 0.75)]),
                ("5m", "DvcServiceDown", [Firing(p, 0) for p in dong_anh[:3]]),
            ],
        ),
        Case(
            "NaN answers count as down: the pairs, the district and the error budget",
            # NaN from the first sample on, so every ratio is steady whatever order
            # promtool evaluates the rule groups in.
            [Series("dvc_service_up", p, _nan(14, "NaN")) for p in soc_son[:3]]
            + [Series("dvc_service_up", soc_son[3], "1x14"), _up(AVAILABILITY, "1x14")],
            [
                ("4m", "DvcDistrictOutage", [Firing(_district(soc_son[0]), 0.75)]),
                ("5m", "DvcServiceDown", [Firing(p, float("nan")) for p in soc_son[:3]]),
                (
                    "4m",
                    "DvcDistrictErrorBudgetBurn",
                    [Firing({**_district(soc_son[0]), **w}, 0.75, w) for w in (FAST, SLOW)],
                ),
                (
                    "4m",
                    "DvcServiceErrorBudgetBurn",
                    [
                        Firing({"service": p["service"], **w}, 1, w)
                        for p in soc_son[:3]
                        for w in (FAST, SLOW)
                    ],
                ),
            ],
            covers={
                "DvcDistrictOutage": ["nan"],
                "DvcDistrictErrorBudgetBurn": ["nan"],
                "DvcServiceErrorBudgetBurn": ["nan"],
            },
        ),
        Case(
            "the availability exporter unreachable: each district it showed, and the city",
            [_up(AVAILABILITY, "1x4 0x10")]
            + [Series("dvc_service_up", p, "1x4 stale") for p in both],
            [
                ("3m", "DvcDistrictOutage", []),
                (
                    "8m",
                    "DvcDistrictOutage",
                    [
                        Firing(_district(soc_son[0]), 1, DISTRICT_MISSING),
                        Firing(_district(dong_anh[0]), 1, DISTRICT_MISSING),
                        Firing(AVAILABILITY, 0, CITY_MISSING),
                    ],
                ),
            ],
            covers={
                "DvcDistrictOutage": ["unreachable"],
                "DvcDistrictErrorBudgetBurn": ["unreachable"],
                "DvcServiceErrorBudgetBurn": ["unreachable"],
            },
        ),
        Case(
            "one district's pairs vanish while the exporter answers (a lost shard)",
            [_up(AVAILABILITY, "1x14")]
            + [Series("dvc_service_up", p, "1x4 stale") for p in soc_son]
            + [Series("dvc_service_up", p, "1x14") for p in dong_anh],
            [
                ("3m", "DvcDistrictOutage", []),
                ("8m", "DvcDistrictOutage", [Firing(_district(soc_son[0]), 1, DISTRICT_MISSING)]),
            ],
            covers={"DvcDistrictOutage": ["absent"], "DvcDistrictErrorBudgetBurn": ["absent"]},
        ),
        Case(
            "no availability job at all: the city-wide twin",
            [],
            [("3m", "DvcDistrictOutage", [Firing({"job": "availability"}, 1, CITY_MISSING)])],
            covers={"DvcDistrictOutage": ["absent"], "DvcServiceErrorBudgetBurn": ["absent"]},
        ),
        Case(
            "the sweeps stopped: their old answers are no evidence",
            [_up(AVAILABILITY, "1x14")]
            + [Series("dvc_service_up", p, "1x14") for p in both]
            + [
                Series(
                    "dvc_exporter_last_sweep_timestamp_seconds",
                    {**AVAILABILITY, "exporter": "availability"},
                    "0+60x3 180x10",
                ),
                Series(
                    "dvc_exporter_sweep_interval_seconds",
                    {**AVAILABILITY, "exporter": "availability"},
                    "15x14",
                ),
            ],
            [
                ("3m", "DvcDistrictOutage", []),
                (
                    "7m",
                    "DvcDistrictOutage",
                    [
                        Firing(_district(soc_son[0]), 1, DISTRICT_MISSING),
                        Firing(_district(dong_anh[0]), 1, DISTRICT_MISSING),
                    ],
                ),
            ],
            covers={"DvcDistrictOutage": ["unreachable"]},
        ),
    ]


def _burn(pairs: Mapping[str, list[Labels]]) -> list[Case]:
    soc_son = [{**AVAILABILITY, **p} for p in pairs["016"]]
    young = Series("prometheus_tsdb_lowest_timestamp_seconds", PROMETHEUS, "0x70")
    district = _district(soc_son[0])
    service = {"service": soc_son[0]["service"]}
    return [
        Case(
            "one pair of four down for an hour: budget burn once an hour of data is held",
            [Series("dvc_service_up", soc_son[0], "0x70"), _up(AVAILABILITY, "1x70"), young]
            + [Series("dvc_service_up", p, "1x70") for p in soc_son[1:]],
            [
                ("5m", "DvcDistrictErrorBudgetBurn", []),
                ("5m", "DvcServiceErrorBudgetBurn", []),
                (
                    "63m",
                    "DvcDistrictErrorBudgetBurn",
                    [Firing({**district, **w}, 0.25, w) for w in (FAST, SLOW)],
                ),
                (
                    "63m",
                    "DvcServiceErrorBudgetBurn",
                    [Firing({**service, **w}, 1, w) for w in (FAST, SLOW)],
                ),
            ],
        ),
        Case(
            "a three-minute blip burns no budget worth a page",
            [Series("dvc_service_up", soc_son[0], "1x60 0x3"), _up(AVAILABILITY, "1x63"), young]
            + [Series("dvc_service_up", p, "1x63") for p in soc_son[1:]],
            [
                ("63m", "DvcDistrictErrorBudgetBurn", []),
                ("63m", "DvcServiceErrorBudgetBurn", []),
            ],
        ),
    ]


def _sms() -> list[Case]:
    return [
        Case(
            "Kannel unreachable or suspended: DvcSmsGatewayDown; running gateway: quiet",
            [
                Series("dvc_kannel_up", KANNEL, "1x3 0x10"),
                Series("dvc_kannel_up", KANNEL_B, "1x14"),
                Series("dvc_kannel_gateway_state", {**KANNEL_B, "state": "running"}, "1x3 0x10"),
                _up(KANNEL, "1x14"),
                _up(KANNEL_B, "1x14"),
            ],
            [
                ("3m", "DvcSmsGatewayDown", []),
                (
                    "6m",
                    "DvcSmsGatewayDown",
                    [Firing(KANNEL, 0), Firing({**KANNEL_B, "state": "running"}, 0)],
                ),
            ],
        ),
        Case(
            "Kannel read as NaN: DvcSmsGatewayDown",
            [Series("dvc_kannel_up", KANNEL, _nan(8)), _up(KANNEL, "1x8")],
            [("4m", "DvcSmsGatewayDown", [Firing(KANNEL, float("nan"))])],
            covers={"DvcSmsGatewayDown": ["nan"]},
        ),
        Case(
            "the Kannel exporter unreachable: the gateway and the round trip unseen",
            [
                _up(KANNEL, "1x3 0x10"),
                Series("dvc_kannel_up", KANNEL, "1x3 stale"),
                Series("dvc_sms_e2e_success", KANNEL, "1x3 stale"),
            ],
            [
                ("3m", "DvcSmsGatewayDown", []),
                ("7m", "DvcSmsGatewayDown", [Firing(KANNEL, 0, MISSING)]),
                ("7m", "DvcSmsEndToEndFailing", [Firing(KANNEL, 0, MISSING)]),
            ],
            covers={"DvcSmsGatewayDown": ["unreachable"], "DvcSmsEndToEndFailing": ["unreachable"]},
        ),
        Case(
            "no kannel job at all",
            [],
            [
                ("3m", "DvcSmsGatewayDown", [Firing({"job": "kannel"}, 1, MISSING)]),
                ("3m", "DvcSmsEndToEndFailing", [Firing({"job": "kannel"}, 1, MISSING)]),
            ],
            covers={"DvcSmsGatewayDown": ["absent"], "DvcSmsEndToEndFailing": ["absent"]},
        ),
        Case(
            "the Kannel exporter answers without the gateway's status or a round trip",
            [_up(KANNEL, "1x10")],
            [
                ("3m", "DvcSmsGatewayDown", [Firing(KANNEL, 1, MISSING)]),
                ("3m", "DvcSmsEndToEndFailing", [Firing(KANNEL, 1, MISSING)]),
            ],
            covers={"DvcSmsGatewayDown": ["absent"], "DvcSmsEndToEndFailing": ["absent"]},
        ),
        Case(
            "upstream SMSC offline: DvcSmscOffline for it only",
            [
                Series(
                    "dvc_kannel_smsc_online",
                    {**KANNEL, "smsc": "upstream", "admin_id": "upstream"},
                    "1 0x10",
                ),
                Series(
                    "dvc_kannel_smsc_online",
                    {**KANNEL, "smsc": "loopback", "admin_id": "loopback"},
                    "1x10",
                ),
            ],
            [
                ("2m", "DvcSmscOffline", []),
                (
                    "5m",
                    "DvcSmscOffline",
                    [Firing({**KANNEL, "smsc": "upstream", "admin_id": "upstream"}, 0)],
                ),
            ],
        ),
        Case(
            "500 SMS queued to send for 10m: DvcSmsQueueBacklog; 50 queued or MO queue: quiet",
            [
                Series("dvc_kannel_sms_queued_messages", {**KANNEL, "direction": "sent"}, "500x20"),
                Series(
                    "dvc_kannel_sms_queued_messages", {**KANNEL, "direction": "received"}, "500x20"
                ),
                Series(
                    "dvc_kannel_sms_queued_messages", {**KANNEL_B, "direction": "sent"}, "50x20"
                ),
            ],
            [
                ("8m", "DvcSmsQueueBacklog", []),
                ("12m", "DvcSmsQueueBacklog", [Firing({**KANNEL, "direction": "sent"}, 500)]),
            ],
        ),
        Case(
            "loopback round trip failing for 2m: DvcSmsEndToEndFailing; a passing probe: quiet",
            [
                Series("dvc_sms_e2e_success", KANNEL, "1 0x10"),
                Series("dvc_sms_e2e_success", KANNEL_B, "1x10"),
                _up(KANNEL, "1x10"),
                _up(KANNEL_B, "1x10"),
            ],
            [
                ("2m", "DvcSmsEndToEndFailing", []),
                ("4m", "DvcSmsEndToEndFailing", [Firing(KANNEL, 0)]),
            ],
        ),
        Case(
            "the round trip read as NaN: DvcSmsEndToEndFailing",
            [Series("dvc_sms_e2e_success", KANNEL, _nan(8)), _up(KANNEL, "1x8")],
            [("4m", "DvcSmsEndToEndFailing", [Firing(KANNEL, float("nan"))])],
            covers={"DvcSmsEndToEndFailing": ["nan"]},
        ),
    ]


def _citizen_db() -> list[Case]:
    return [
        Case(
            "citizen database down: DvcCitizenDbDown after 2m; back up: quiet",
            [Series("dvc_citizen_db_up", CITIZEN_DB, "1 0x4 1x5"), _up(CITIZEN_DB, "1x10")],
            [
                ("2m", "DvcCitizenDbDown", []),
                ("4m", "DvcCitizenDbDown", [Firing(CITIZEN_DB, 0)]),
                ("9m", "DvcCitizenDbDown", []),
            ],
        ),
        Case(
            "citizen database read as NaN: DvcCitizenDbDown",
            [Series("dvc_citizen_db_up", CITIZEN_DB, _nan(8)), _up(CITIZEN_DB, "1x8")],
            [("4m", "DvcCitizenDbDown", [Firing(CITIZEN_DB, float("nan"))])],
            covers={"DvcCitizenDbDown": ["nan"]},
        ),
        Case(
            "the citizen-database exporter unreachable",
            [_up(CITIZEN_DB, "1x3 0x10"), Series("dvc_citizen_db_up", CITIZEN_DB, "1x3 stale")],
            [
                ("3m", "DvcCitizenDbDown", []),
                ("7m", "DvcCitizenDbDown", [Firing(CITIZEN_DB, 0, MISSING)]),
            ],
            covers={"DvcCitizenDbDown": ["unreachable"]},
        ),
        Case(
            "no citizen_db job, or an exporter without a probe result",
            [_up(KANNEL, "1x5")],
            [("3m", "DvcCitizenDbDown", [Firing({"job": "citizen_db"}, 1, MISSING)])],
            covers={"DvcCitizenDbDown": ["absent"]},
        ),
    ]


def _monitoring() -> list[Case]:
    swept = {**AVAILABILITY, "exporter": "availability"}
    other = {**_target("availability", "availability-2:9601"), "exporter": "availability"}
    failed = "alertmanager_notifications_failed_total"
    return [
        Case(
            "a down scrape target or a stuck sweep: DvcExporterStale; Prometheus itself and "
            "fresh sweeps: quiet",
            [
                _up(KANNEL, "1 0x10"),
                _up(CITIZEN_DB, "1x10"),
                _up(PROMETHEUS, "0x10"),
                Series("dvc_exporter_last_sweep_timestamp_seconds", swept, "0x15"),
                Series("dvc_exporter_sweep_interval_seconds", swept, "15x15"),
                Series("dvc_exporter_last_sweep_timestamp_seconds", other, "0+60x15"),
                Series("dvc_exporter_sweep_interval_seconds", other, "15x15"),
            ],
            [
                ("3m", "DvcExporterStale", []),
                ("7m", "DvcExporterStale", [Firing(KANNEL, 0), Firing(swept, 420)]),
            ],
        ),
        Case("the watchdog always fires", [], [("1m", "DvcWatchdog", [Firing({}, 1)])]),
        Case(
            "failed webhook deliveries: DvcNotificationsFailing until a minute after the last; "
            "a quiet integration: not",
            [
                _up(ALERTMANAGER, "1x14"),
                # failures from 4m to 9m (Alertmanager retrying), none after
                Series(failed, {**ALERTMANAGER, "integration": "webhook"}, "0x3 1+1x5 6x6"),
                Series(failed, {**ALERTMANAGER, "integration": "email"}, "0x14"),
            ],
            [
                ("3m", "DvcNotificationsFailing", []),
                (
                    "6m",
                    "DvcNotificationsFailing",
                    [Firing({**ALERTMANAGER, "integration": "webhook"}, 2)],
                ),
                ("12m", "DvcNotificationsFailing", []),
            ],
        ),
        Case(
            "the failure counter read as NaN: DvcNotificationsFailing",
            [
                _up(ALERTMANAGER, "1x8"),
                Series(failed, {**ALERTMANAGER, "integration": "webhook"}, _nan(8, "0")),
            ],
            [
                (
                    "4m",
                    "DvcNotificationsFailing",
                    [Firing({**ALERTMANAGER, "integration": "webhook"}, float("nan"))],
                )
            ],
            covers={"DvcNotificationsFailing": ["nan"]},
        ),
        Case(
            "Alertmanager unreachable, or not scraped at all",
            [_up(ALERTMANAGER, "1x3 0x5")],
            [
                ("3m", "DvcNotificationsFailing", []),
                ("6m", "DvcNotificationsFailing", [Firing(ALERTMANAGER, 0, MISSING)]),
            ],
            covers={"DvcNotificationsFailing": ["unreachable"]},
        ),
        Case(
            "no alertmanager job",
            [],
            [("3m", "DvcNotificationsFailing", [Firing({"job": "alertmanager"}, 1, MISSING)])],
            covers={"DvcNotificationsFailing": ["absent"]},
        ),
        Case(
            "a certificate 10 days from expiry: DvcCertificateExpiringSoon; one of 30 days: quiet",
            [
                Series(
                    "dvc_tls_certificate_expiry_timestamp_seconds",
                    {**AVAILABILITY, "endpoint": "portal.example.vn:443"},
                    "864000x20",
                ),
                Series(
                    "dvc_tls_certificate_expiry_timestamp_seconds",
                    {**AVAILABILITY, "endpoint": "hotich.example.vn:443"},
                    "2592000x20",
                ),
            ],
            [
                ("5m", "DvcCertificateExpiringSoon", []),
                (
                    "15m",
                    "DvcCertificateExpiringSoon",
                    [Firing({**AVAILABILITY, "endpoint": "portal.example.vn:443"}, 863100)],
                ),
            ],
        ),
    ]


def _site(code: str, unit: str, district: str, district_code: str, phase: str) -> Labels:
    return {"site_code": code, "unit": unit, "district": district,
            "district_code": district_code, "phase": phase}  # fmt: skip


def readiness_cases() -> list[Case]:
    """exporters/rules/readiness.yml; time() starts at 0, go-live dates are relative to it."""
    soc_son = _site("016", "Huyện Sóc Sơn", "Huyện Sóc Sơn", "016", "1")
    dong_anh = _site("017", "Huyện Đông Anh", "Huyện Đông Anh", "017", "1")
    commune = _site("00376", "Thị trấn Sóc Sơn", "Huyện Sóc Sơn", "016", "2")
    in_6_days = Series("dvc_phase_go_live_timestamp_seconds", {"phase": "1"}, "518400x40")
    in_30_days = Series("dvc_phase_go_live_timestamp_seconds", {"phase": "2"}, "2592000x40")
    fresh = [Series("dvc_readiness_up", {}, "1x40"),
             Series("dvc_readiness_newest_result_age_seconds", {}, "60x40")]  # fmt: skip
    return [
        Case(
            "a failed desk 6 days before go-live fires; ready desks and far phases do not",
            [
                in_6_days,
                in_30_days,
                *fresh,
                Series("dvc_site_ready", soc_son, "0x30"),
                Series("dvc_site_checked", soc_son, "1x30"),
                Series("dvc_site_ready", dong_anh, "1x30"),
                Series("dvc_site_checked", dong_anh, "1x30"),
                Series("dvc_site_ready", commune, "0x30"),
                Series("dvc_site_checked", commune, "1x30"),
            ],
            [
                ("5m", "DvcSiteNotReadyNearGoLive", []),
                ("15m", "DvcSiteNotReadyNearGoLive", [Firing(soc_son, 0)]),
                ("15m", "DvcReadinessResultsStale", []),
            ],
        ),
        Case(
            "the desk becomes ready, the alert clears",
            [
                in_6_days,
                *fresh,
                Series("dvc_site_ready", soc_son, "0x15 1x25"),
                Series("dvc_site_checked", soc_son, "1x40"),
            ],
            [
                ("14m", "DvcSiteNotReadyNearGoLive", [Firing(soc_son, 0)]),
                ("20m", "DvcSiteNotReadyNearGoLive", []),
            ],
        ),
        Case(
            "a desk in scope never checked, 6 days before go-live",
            [
                in_6_days,
                *fresh,
                Series("dvc_site_ready", dong_anh, "0x30"),
                Series("dvc_site_checked", dong_anh, "0x30"),
            ],
            [("15m", "DvcSiteNotReadyNearGoLive", [Firing(dong_anh, 0, MISSING)])],
        ),
        Case(
            "no result at all: the newest result is infinitely old",
            [
                Series("dvc_readiness_up", {}, "1x40"),
                Series("dvc_readiness_newest_result_age_seconds", {}, _repeat("+Inf", 41)),
            ],
            [
                ("20m", "DvcReadinessResultsStale", []),
                ("35m", "DvcReadinessResultsStale", [Firing({}, float("inf"))]),
            ],
        ),
        Case(
            "an age read as NaN",
            [
                Series("dvc_readiness_up", {}, "1x40"),
                Series("dvc_readiness_newest_result_age_seconds", {}, _nan(40, "NaN")),
            ],
            [("35m", "DvcReadinessResultsStale", [Firing({}, float("nan"))])],
        ),
        Case(
            "the results store cannot be read",
            [Series("dvc_readiness_up", {}, "0x40")],
            [("35m", "DvcReadinessResultsStale", [Firing({}, 0)])],
        ),
        Case(
            "the readiness exporter is gone",
            [],
            [("35m", "DvcReadinessResultsStale", [Firing({}, 1)])],
        ),
    ]
