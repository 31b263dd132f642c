#!/bin/sh
# The dynamic inventory as Ansible runs it (an executable inventory source): the
# rollout inventory plus the hosts of stack $DVC_STACK. See playbooks/inventory.py.
# Run from the repo root so `inventory` is the project package, not this folder's module.
cd "$(dirname "$0")/.." || exit 3
exec "${DVC_PYTHON:-python3}" -m playbooks.inventory "$@"
