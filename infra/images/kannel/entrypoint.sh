#!/usr/bin/env bash
# Run Kannel's bearerbox and smsbox. When /etc/kannel/kannel.conf is missing, render a
# bootstrap config from the environment (Ansible owns the file afterwards).
set -euo pipefail

conf=/etc/kannel/kannel.conf
log() { printf 'dvc-kannel: %s\n' "$*" >&2; }
need() {
    if [ -z "${!1:-}" ]; then log "$1 is not set: it is needed to render $conf"; exit 1; fi
}
# Kannel config strings are double-quoted, with `\` and `"` inside escaped as Kannel's
# reader (gwlib/cfg.c) expects; nothing else is an escape there.
q() { local v=${1//\\/\\\\}; printf '"%s"' "${v//\"/\\\"}"; }
# A line break cannot be written into a value, and Kannel reads any line holding the
# word "include" as an include directive: refuse such values, naming the variable.
writable() {
    local name
    for name in "$@"; do
        case "${!name:-}" in
        *$'\n'* | *$'\r'* | *include*)
            log "$name cannot be written into $conf (a line break or the word 'include')"
            exit 1
            ;;
        esac
    done
}

# A whole number of seconds, 1 or more, or stop naming the variable.
seconds() {
    case "$2" in
    '' | *[!0-9]* | 0) log "$1 must be a whole number of seconds (1 or more), not '$2'"; exit 1 ;;
    esac
}

render() {
    need KANNEL_ADMIN_PASSWORD; need KANNEL_STATUS_PASSWORD
    need SENDSMS_USER; need SENDSMS_PASSWORD
    writable KANNEL_ADMIN_PASSWORD KANNEL_STATUS_PASSWORD SENDSMS_USER SENDSMS_PASSWORD \
        SMS_PROBE_URL SMSC_HTTP SMSC_SMPP
    local mo_port=14001 entry id url
    cat <<CONF
# Bootstrap config rendered by the lab image at first start; Ansible replaces it.
group = core
admin-port = 13000
admin-password = $(q "$KANNEL_ADMIN_PASSWORD")
status-password = $(q "$KANNEL_STATUS_PASSWORD")
admin-allow-ip = "*.*.*.*"
smsbox-port = 13001
box-deny-ip = "*.*.*.*"
box-allow-ip = "127.0.0.1"
log-level = 1
dlr-storage = internal

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = 13001
sendsms-port = 13013
log-level = 1

group = sendsms-user
username = $(q "$SENDSMS_USER")
password = $(q "$SENDSMS_PASSWORD")
concatenation = true
max-messages = 3
default-sender = "DVC-LAB"

# Loopback: what is sent to it comes back as an incoming message (end-to-end probe).
group = smsc
smsc = loopback
smsc-id = loopback
allowed-smsc-id = loopback

group = sms-service
keyword = default
catch-all = true
max-messages = 0
CONF
    if [ -n "${SMS_PROBE_URL:-}" ]; then
        printf 'get-url = %s\n' "$(q "$SMS_PROBE_URL")"
    else
        printf 'text = ""\n'
    fi
    IFS=',' read -ra entries <<<"${SMSC_HTTP:-}"
    for entry in "${entries[@]}"; do
        entry=${entry// /}
        [ -n "$entry" ] || continue
        id=${entry%%=*}
        url=${entry#*=}
        if [ "$id" = "$entry" ] || [ -z "$url" ]; then
            log "SMSC_HTTP entry '$entry' is not id=url"; exit 1
        fi
        cat <<CONF

# Operator SMSC $id over Kannel's generic HTTP interface (lab simulator).
group = smsc
smsc = http
smsc-id = $(q "$id")
denied-smsc-id = "loopback"
system-type = generic
send-url = $(q "${url%/}/send?to=%p&from=%P&text=%b&coding=%c&charset=%C")
status-success-regex = "^Sent"
status-tempfail-regex = "[Oo]ffline|[Rr]etry"
port = $mo_port
connect-allow-ip = "*.*.*.*"
CONF
        mo_port=$((mo_port + 1))
    done
    IFS=',' read -ra entries <<<"${SMSC_SMPP:-}"
    local host port system_id secret
    # A peer silent for connection-timeout s is dropped and re-bound (production's role:
    # 10 and 30); the lab's simulators, on the same host, set shorter ones.
    local enquire_link=${SMPP_ENQUIRE_LINK_INTERVAL:-10}
    local connection_timeout=${SMPP_CONNECTION_TIMEOUT:-30}
    seconds SMPP_ENQUIRE_LINK_INTERVAL "$enquire_link"
    seconds SMPP_CONNECTION_TIMEOUT "$connection_timeout"
    for entry in "${entries[@]}"; do
        entry=${entry// /}
        [ -n "$entry" ] || continue
        id=${entry%%=*}
        IFS=':' read -r host port system_id <<<"${entry#*=}"
        if [ "$id" = "$entry" ] || [ -z "$host" ] || [ -z "$port" ]; then
            log "SMSC_SMPP entry '$entry' is not id=host:port:system_id"; exit 1
        fi
        secret="SMPP_PASSWORD_$(printf '%s' "$id" | tr 'a-z-' 'A-Z_')"
        writable "$secret"
        cat <<CONF

# Operator SMSC $id over SMPP 3.4 (a transceiver bind, as production's telco links).
group = smsc
smsc = smpp
smsc-id = $(q "$id")
denied-smsc-id = "loopback"
host = $(q "$host")
port = $port
transceiver-mode = true
smsc-username = $(q "${system_id:-dvc}")
smsc-password = $(q "${!secret:-}")
system-type = ""
reconnect-delay = 5
enquire-link-interval = $enquire_link
connection-timeout = $connection_timeout
CONF
    done
}

if [ ! -s "$conf" ]; then
    log "no $conf: rendering the bootstrap config from the environment"
    render >"$conf.part"
    chown kannel "$conf.part" && chmod 0600 "$conf.part"
    mv "$conf.part" "$conf"
fi

# Debian's kannel user has no group of its own. `exec` makes each background job the box
# itself, so signalling the job (on SIGHUP) reaches bearerbox and smsbox.
run() { exec setpriv --reuid=kannel --regid="$(id -g kannel)" --init-groups "$@"; }

start_boxes() {
    run bearerbox -v 1 "$conf" &
    bb=$!
    for _ in $(seq 1 50); do
        (exec 3<>/dev/tcp/127.0.0.1/13001) 2>/dev/null && break
        sleep 0.2
    done
    run smsbox -v 1 "$conf" &
    sb=$!
}

# SIGHUP (sent by Ansible after it installs a new kannel.conf) restarts both boxes in
# place so they re-read the file: the container, and its published ports, stay up.
reload=0
trap 'reload=1' HUP
start_boxes
while :; do
    status=0
    wait -n "$bb" "$sb" || status=$?
    [ "$reload" = 1 ] || break
    reload=0
    log "SIGHUP: restarting bearerbox and smsbox on $conf"
    kill -TERM "$sb" "$bb" 2>/dev/null || true
    wait "$sb" "$bb" || true
    start_boxes
done
# Either box ending ends the container, so the restart policy brings both back.
log "a Kannel box exited with status $status; stopping"
kill -TERM $(jobs -p) 2>/dev/null || true
wait || true
exit "$status"
