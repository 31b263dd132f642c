#!/usr/bin/env bash
# Render the portal proxy config when missing, wait until the upstream name resolves
# (nginx refuses to start otherwise), then run nginx in the foreground.
set -euo pipefail

conf=/etc/nginx/conf.d/dvc-portal.conf
if [ ! -s "$conf" ]; then
    if ! [[ "$PORTAL_UPSTREAM" =~ ^[A-Za-z0-9._-]+(:[0-9]+)?$ ]]; then
        echo "dvc-nginx: PORTAL_UPSTREAM '$PORTAL_UPSTREAM' is not host[:port]" >&2
        exit 1
    fi
    sed "s/@PORTAL_UPSTREAM@/$PORTAL_UPSTREAM/" /usr/share/dvc-nginx/dvc-portal.conf.in >"$conf"
    # HTTPS too when the stack uploaded a certificate and its key (the lab's CA, or the
    # city's in production); a drill swaps them and runs `nginx -s reload`.
    if [ -s /etc/nginx/tls/portal.pem ] && [ -s /etc/nginx/tls/portal.key ]; then
        cat /usr/share/dvc-nginx/dvc-portal-tls.conf.in >>"$conf"
    fi
fi

host=${PORTAL_UPSTREAM%%:*}
for _ in $(seq 1 60); do
    getent hosts "$host" >/dev/null && break
    sleep 1
done
exec nginx -g 'daemon off;'
