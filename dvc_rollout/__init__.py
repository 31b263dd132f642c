"""dvc-rollout: infrastructure-as-code and monitoring for rolling out online public services."""

__version__ = "0.1.0"
