"""Configuration inside the machines (Ansible): roles, the dynamic inventory, the runner.

Pulumi creates the machines; these playbooks make what is inside them right and keep
it right. `dvc-rollout configure` runs `site.yml` through ansible-runner.
"""
