"""The availability exporter: is every (unit, service) pair's online service answering?

It probes each pair's health URL in background sweeps (fixed interval, bounded concurrency,
per-probe timeout; never at scrape time) and serves the results on /metrics with the labels
phase, level, district, district_code, unit, unit_code and service.

It must also run on a Debian bookworm host holding only Debian's packages: python3.11,
python3-prometheus-client (0.16), python3-uvloop (0.17, optional: asyncio's own loop is
used without it) and python3-yaml. Bookworm's python3-pydantic is 1.10, which cannot load
the project's pydantic 2 inventory models (the project's exporter image vendors pydantic 2,
a bare host does not), so the exporter can read its targets from a targets file written
where the project is installed:

    python -m exporters.availability.targets --phase 1 --phase 2 > targets.json
    python -m exporters.availability --config availability.yml --targets targets.json

Only `targets.labels_from_inventory` imports `inventory`, and only when no --targets file
is given. Besides this package the container needs `dvc_rollout/` (stdlib only) for the
project's error classes. See README.md in this folder for usage, sharding and benchmarks.
"""
