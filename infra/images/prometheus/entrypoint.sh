#!/usr/bin/env bash
# Render the bootstrap config when none exists (ALERTMANAGER_URL names the target),
# then run Prometheus in the foreground as its own user.
set -euo pipefail

conf=/etc/prometheus/prometheus.yml
alerting() {
    local url=${ALERTMANAGER_URL:-} scheme rest hostport prefix
    [ -n "$url" ] || return 0
    scheme=${url%%://*}
    [ "$scheme" != "$url" ] || { scheme=http; url="http://$url"; }
    rest=${url#*://}
    hostport=${rest%%/*}
    prefix=/
    [ "$hostport" = "$rest" ] || prefix=/${rest#*/}
    printf 'alerting:\n  alertmanagers:\n    - scheme: %s\n      path_prefix: "%s"\n' "$scheme" "$prefix"
    printf '      static_configs:\n        - targets: ["%s"]\n' "$hostport"
}

if [ ! -s "$conf" ]; then
    block=$(alerting)
    awk -v block="$block" '{ if ($0 == "@ALERTING@") print block; else print }' \
        /usr/share/dvc-prometheus/prometheus.yml.in >"$conf"
fi

exec setpriv --reuid=prometheus --regid=prometheus --init-groups \
    prometheus --config.file="$conf" \
    --storage.tsdb.path=/var/lib/prometheus/metrics2 \
    --web.listen-address=0.0.0.0:9090 \
    --web.enable-lifecycle \
    --rules.alert.resend-delay="${ALERT_RESEND_DELAY:-15s}" \
    --web.console.libraries=/usr/share/prometheus/console_libraries \
    --web.console.templates=/etc/prometheus/consoles \
    "$@"
