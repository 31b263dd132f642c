#!/usr/bin/env bash
# Make sure a Docker engine answers: the lab and its tests need one, and fresh
# machines (CI included) start without it. Installs Debian's docker.io when run as
# root, starts dockerd when it is stopped, and otherwise says what to do.
set -euo pipefail

log() { printf 'engine: %s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

install_docker() {
    if command -v dockerd >/dev/null 2>&1; then return 0; fi
    if [ "$(id -u)" -ne 0 ]; then
        log "dockerd is not installed and this is not root: install Debian's docker.io (sudo apt-get install docker.io) and run again"
        exit 1
    fi
    log "installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q docker.io
}

start_dockerd() {
    if [ "$(id -u)" -ne 0 ]; then
        log "dockerd is not running and this is not root: start it (sudo systemctl start docker) and run again"
        exit 1
    fi
    log "starting dockerd (log: /var/log/dvc-rollout-dockerd.log)"
    nohup dockerd >/var/log/dvc-rollout-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        engine_answers && { log "dockerd is up"; return 0; }
        sleep 1
    done
    log "dockerd did not answer within 60 s: see /var/log/dvc-rollout-dockerd.log"
    exit 1
}

case "${1:-ensure}" in
    ensure)
        engine_answers && exit 0
        install_docker
        engine_answers || start_dockerd
        ;;
    *)
        log "usage: engine.sh ensure"
        exit 2
        ;;
esac
