"""Prometheus exporters and alert rules that watch the rolled-out services."""
