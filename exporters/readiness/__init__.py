"""Go-live readiness exporter: the check results store as Prometheus metrics.

Runs with the standard library and prometheus_client only, so a bare Debian python3 with
python3-prometheus-client serves it too (it never loads the pydantic inventory models):
it reads the SQLite store through the store's own read-only API (`checks.results`) and
judges sites with `checks.readiness`, taking every label it needs (district, phase,
go-live date) from the rows the checks wrote.
"""
