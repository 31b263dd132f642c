#!/usr/bin/env bash
# Render the bootstrap config when none exists (everything to WEBHOOK_URL), then run
# Alertmanager in the foreground, single-node (no cluster gossip in the lab).
set -euo pipefail

conf=/etc/alertmanager/alertmanager.yml
if [ ! -s "$conf" ]; then
    {
        echo "# Bootstrap config rendered by the lab image at first start; Ansible replaces it."
        echo "route:"
        echo "  receiver: lab-webhook"
        echo "  group_by: [alertname]"
        echo "  group_wait: 10s"
        echo "  group_interval: 30s"
        echo "  repeat_interval: 4h"
        echo "receivers:"
        echo "  - name: lab-webhook"
        if [ -n "${WEBHOOK_URL:-}" ]; then
            echo "    webhook_configs:"
            echo "      - url: \"${WEBHOOK_URL//\"/}\""
            echo "        send_resolved: true"
        fi
    } >"$conf"
fi

exec setpriv --reuid=prometheus --regid=prometheus --init-groups \
    prometheus-alertmanager --config.file="$conf" \
    --storage.path=/var/lib/alertmanager \
    --web.listen-address=0.0.0.0:9093 \
    --cluster.listen-address= \
    "$@"
