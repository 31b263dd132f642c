#!/usr/bin/env bash
# Make sure a Docker engine answers: the lab and its tests need one, and fresh
# machines (CI included) start without it. Starts dockerd when it is stopped (as root),
# and otherwise says what to do. Debian's docker.io itself comes with the lab's package
# list (`python3 infra/debian_packages.py ensure lab`, which `make lab` runs first).
set -euo pipefail

log() { printf 'engine: %s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

require_dockerd() {
    command -v dockerd >/dev/null 2>&1 && return 0
    log "dockerd is not installed: run \`sudo python3 infra/debian_packages.py ensure lab\` (or \`make lab\`, which does) and run again"
    exit 3
}

start_dockerd() {
    if [ "$(id -u)" -ne 0 ]; then
        log "dockerd is not running and this is not root: start it (sudo systemctl start docker) and run again"
        exit 3
    fi
    log "starting dockerd (log: /var/log/dvc-rollout-dockerd.log)"
    nohup dockerd >/var/log/dvc-rollout-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        engine_answers && { log "dockerd is up"; return 0; }
        sleep 1
    done
    log "dockerd did not answer within 60 s: see /var/log/dvc-rollout-dockerd.log"
    exit 3
}

case "${1:-ensure}" in
    ensure)
        engine_answers && exit 0
        require_dockerd
        engine_answers || start_dockerd
        ;;
    *)
        log "usage: engine.sh ensure"
        exit 2
        ;;
esac
