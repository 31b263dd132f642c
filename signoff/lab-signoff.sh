#!/usr/bin/env bash
# The last step of `make lab`: readiness checks of the lab's sample, then a phase-1 and a
# phase-2 sign-off of it.
#
# The evidence window is the time the lab's exporters have been watched (at least 90 s),
# so a young lab is judged on what it has seen; evidence that covers less than 90% of
# that window is still NO-GO. A NO-GO verdict is printed and does not fail make; bad
# input or a missing lab (exit 2 or 3) does. The officials' records come from
# $DVC_INVENTORY_RECORDS (the Makefile passes the lab's synthetic ones).
set -uo pipefail
stack="${DVC_LAB_STACK:-lab}"
bin="${BIN:-.venv/bin}"
# Evidence exporters: the window starts once the youngest of them has been scraped.
exporters=(availability kannel citizen-db)
MIN_WINDOW=90

youngest_age() {
    local oldest_start=0 started t
    for e in "${exporters[@]}"; do
        if ! started=$(docker inspect -f '{{.State.StartedAt}}' "dvc-${stack}-exporter-${e}" 2>/dev/null); then
            echo "lab-signoff: no container dvc-${stack}-exporter-${e}: run \`make lab\` first" >&2
            exit 3
        fi
        t=$(date -d "$started" +%s)
        (( t > oldest_start )) && oldest_start=$t
    done
    echo $(( $(date +%s) - oldest_start ))
}

# Terminal evidence: the readiness checks of both phases (a site that is not ready is
# reported here and again, with its reasons, by the sign-off).
for phase in 1 2; do
    "$bin/dvc-rollout" check --phase "$phase" --stack "$stack"
    rc=$?
    [ "$rc" -le 1 ] || exit "$rc"
done

# Availability, SMS and database evidence: wait until the exporters have been scraped for
# MIN_WINDOW seconds, then judge the time they have been watched (less a 15 s margin for
# the first scrape), so a young lab is judged on what it has seen and nothing else.
age=$(youngest_age) || exit 3
if (( age < MIN_WINDOW + 15 )); then
    echo "lab-signoff: waiting $(( MIN_WINDOW + 15 - age )) s for ${MIN_WINDOW} s of monitoring evidence"
    sleep $(( MIN_WINDOW + 15 - age ))
    age=$(youngest_age) || exit 3
fi
window=$(( age - 15 ))
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
