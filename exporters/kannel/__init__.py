"""Kannel exporter: status.xml metrics and an end-to-end SMS probe through loopback."""
