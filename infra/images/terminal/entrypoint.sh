#!/usr/bin/env bash
# Start the desk PC's services (CUPS, chrony pointed at NTP_SERVER, sshd) and wait; if
# any ends, the container ends so its restart policy brings it back (SIGHUP restarts
# chronyd alone, below). sshd lets no one in until Ansible authorises a key (key logins
# only), except, when ADMIN_SSH_KEY is set, the admin account a prepared desk PC comes
# with: `dvc-admin`, that key only, sudo without a password (how Ansible reaches the
# city's desks over ssh; staging sets it).
set -euo pipefail

admin=dvc-admin
if [ -n "${ADMIN_SSH_KEY:-}" ]; then
    id "$admin" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$admin"
    usermod -p '*' "$admin"  # no password, not locked: key logins only
    install -d -m 0700 -o "$admin" -g "$admin" "/home/$admin/.ssh"
    printf '%s\n' "$ADMIN_SSH_KEY" >"/home/$admin/.ssh/authorized_keys"
    chown "$admin:$admin" "/home/$admin/.ssh/authorized_keys"
    chmod 0600 "/home/$admin/.ssh/authorized_keys"
    printf '%s ALL=(ALL) NOPASSWD: ALL\n' "$admin" >/etc/sudoers.d/dvc-admin
    chmod 0440 /etc/sudoers.d/dvc-admin
fi

chrony_conf=/etc/chrony/chrony.conf
if [ ! -s "$chrony_conf" ]; then
    {
        echo "# Rendered by the lab image from NTP_SERVER; Ansible may replace it."
        [ -z "${NTP_SERVER:-}" ] || echo "server $NTP_SERVER iburst"
        echo "driftfile /var/lib/chrony/chrony.drift"
        echo "makestep 1 3"
    } >"$chrony_conf"
fi

# This desk's own ssh host keys, made on its first start.
ssh-keygen -A >/dev/null
mkdir -p /run/sshd

# chronyd reads chrony.conf only when it starts. SIGHUP (sent by Ansible after it
# installs a new chrony.conf, like `systemctl restart chrony` on a desk PC) restarts
# chronyd alone, in place: sshd and CUPS stay up, so nothing reaching the desk (Ansible
# over ssh, the go-live checks) finds it gone while a whole container restarts.
start_chronyd() {
    # A restarted container keeps /run: a stale pid file would stop chronyd from starting.
    rm -f /run/chrony/chronyd.pid
    chronyd -d -x -u _chrony -f "$chrony_conf" &
    chrony=$!
}
reload=0
trap 'reload=1' HUP
/usr/sbin/cupsd -f &
start_chronyd
/usr/sbin/sshd -D -e -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no &
while :; do
    status=0
    # A SIGHUP that came while no `wait` ran (e.g. during a restart) is not lost.
    [ "$reload" = 1 ] || wait -n || status=$?
    [ "$reload" = 1 ] || break
    reload=0
    echo "dvc-terminal: SIGHUP: restarting chronyd on $chrony_conf" >&2
    kill -TERM "$chrony" 2>/dev/null || true
    wait "$chrony" || true
    start_chronyd
done
# Any service ending otherwise ends the container, so its restart policy brings it back.
echo "dvc-terminal: a service exited with status $status; stopping" >&2
kill -TERM $(jobs -p) 2>/dev/null || true
wait || true
exit "$status"
