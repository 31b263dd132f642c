"""Go-live readiness exporter: the check results store as Prometheus metrics.

Runs with the standard library and prometheus_client only (a Debian bookworm
container has no pydantic), so it reads the SQLite store directly and takes every
label it needs (district, phase, go-live date) from the rows the checks wrote.
"""
