#!/usr/bin/env bash
# The last step of `make lab`: readiness checks of the lab's sample, then a phase-1 and a
# phase-2 sign-off of it.
#
# The evidence window is the time the lab's exporters have been watched since it was
# configured (at least 90 s), so a young lab is judged on what it has seen of the
# configured lab: `configure`, which the Makefile runs just before this script, may
# restart Kannel, and an SMS probe failing during that restart is no evidence about the
# lab as it now is. Evidence that covers less than 90% of that window is still NO-GO.
# A NO-GO verdict is printed and does not fail make; bad input or a missing lab (exit 2
# or 3) does. The officials' records come from $DVC_INVENTORY_RECORDS (the Makefile
# passes the lab's synthetic ones).
set -uo pipefail
stack="${DVC_LAB_STACK:-lab}"
bin="${BIN:-.venv/bin}"
# How the desks are checked: through Docker in a lab, over ssh in staging (`make staging`).
backend="${DVC_CHECK_BACKEND:-docker}"
# The stack's kind and Docker host (staging's is reached over ssh: where its exporters run).
read -r kind docker_host < <("$bin/python" -c 'import sys; from dvc_rollout import stack_outputs; o = stack_outputs.load(sys.argv[1]); print(o.kind, o.docker_host)' "$stack") || exit 3
[ -z "${docker_host:-}" ] || export DOCKER_HOST="$docker_host"
# A lab is signed off as a lab (--lab); staging as the estate it is (--stack).
estate_flag=$([ "$kind" = lab ] && echo --lab || echo --stack)
# Evidence exporters' containers, from the stack's outputs: the window starts once the
# youngest of them has been scraped. With `monitoringShards` the availability exporter is
# one replica per shard (`availability-1`, `-2`, ...): each of them counts.
mapfile -t exporters < <("$bin/python" -c '
import re, sys
from dvc_rollout import stack_outputs
found = stack_outputs.load(sys.argv[1]).containers.exporters
for key, name in sorted(found.items()):
    if re.fullmatch(r"availability(-[0-9]+)?|kannel|citizen-db", key):
        print(name)' "$stack") || exit 3
if (( ${#exporters[@]} < 3 )); then
    echo "lab-signoff: stack ${stack} lists no availability, kannel or citizen-db exporter" \
         "container in its outputs: run \`make lab\` (or \`lab up --stack ${stack}\`) first" >&2
    exit 3
fi
MIN_WINDOW=90
# A probe result taken during configuration stays the exported value until the next
# probe is scraped: infra.lab_monitoring.settle_seconds() (probe interval + timeout + scrape).
SETTLE=$("$bin/python" -c 'from infra.lab_monitoring import settle_seconds; import math; print(math.ceil(settle_seconds()))') || exit 2
configured_at=$(date +%s)

# Seconds of usable evidence: since the youngest exporter's first scrape (15 s after its
# start) and since configuration settled, whichever is later.
evidence_age() {
    local oldest_start=0 started t
    for e in "${exporters[@]}"; do
        if ! started=$(docker inspect -f '{{.State.StartedAt}}' "$e" 2>/dev/null); then
            echo "lab-signoff: no container $e: run \`make lab\` first" >&2
            exit 3
        fi
        t=$(date -d "$started" +%s)
        (( t > oldest_start )) && oldest_start=$t
    done
    local from=$(( oldest_start + 15 ))
    (( configured_at + SETTLE > from )) && from=$(( configured_at + SETTLE ))
    echo $(( $(date +%s) - from ))
}

# Terminal evidence: the readiness checks of both phases (a site that is not ready is
# reported here and again, with its reasons, by the sign-off).
for phase in 1 2; do
    "$bin/dvc-rollout" check --phase "$phase" --stack "$stack" --backend "$backend"
    rc=$?
    [ "$rc" -le 1 ] || exit "$rc"
done

# Availability, SMS and database evidence: wait until there are MIN_WINDOW seconds of it,
# then judge all of it, so a young lab is judged on what it has seen and nothing else.
age=$(evidence_age) || exit 3
if (( age < MIN_WINDOW )); then
    echo "lab-signoff: waiting $(( MIN_WINDOW - age )) s for ${MIN_WINDOW} s of monitoring evidence of the configured lab"
    sleep $(( MIN_WINDOW - age ))
    age=$(evidence_age) || exit 3
fi
window=$age
for phase in 1 2; do
    "$bin/dvc-rollout" signoff --phase "$phase" "$estate_flag" "$stack" --window "${window}s"
    rc=$?
    case $rc in
        0) verdict=GO ;;
        1) verdict=NO-GO ;;
        *) exit "$rc" ;;
    esac
    echo "lab sign-off phase $phase (window ${window}s): $verdict — reports listed above, under reports/"
done
