#!/usr/bin/env bash
# The last step of `make lab`: a phase-1 and a phase-2 sign-off of the lab's sample.
#
# The evidence window is the time the lab's Prometheus has been running (at least 60 s),
# so a young lab is judged on what it has seen; availability evidence that covers less
# than 90% of that window is still NO-GO. A NO-GO verdict is printed and does not fail
# make (a fresh lab has no officials' records or helpdesk staffing either); bad input or
# a missing lab (exit 2 or 3) does.
set -uo pipefail
stack="${DVC_LAB_STACK:-lab}"
bin="${BIN:-.venv/bin}"
if ! started=$(docker inspect -f '{{.State.StartedAt}}' "dvc-${stack}-prometheus" 2>/dev/null); then
    echo "lab-signoff: no container dvc-${stack}-prometheus: run \`make lab\` first" >&2
    exit 3
fi
age=$(( $(date +%s) - $(date -d "$started" +%s) ))
window=$(( age > 60 ? age : 60 ))
for phase in 1 2; do
    "$bin/dvc-rollout" signoff --phase "$phase" --lab "$stack" --window "${window}s"
    rc=$?
    case $rc in
        0) verdict=GO ;;
        1) verdict=NO-GO ;;
        *) exit "$rc" ;;
    esac
    echo "lab sign-off phase $phase (window ${window}s): $verdict — reports listed above, under reports/"
done
