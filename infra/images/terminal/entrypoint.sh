#!/usr/bin/env bash
# Start the desk PC's services (CUPS, chrony pointed at NTP_SERVER, sshd) and wait; if
# any ends, the container ends so its restart policy brings it back. sshd lets no one in
# until Ansible authorises a key (key logins only), except, when ADMIN_SSH_KEY is set, the
# admin account a prepared desk PC comes with: `dvc-admin`, that key only, sudo without a
# password (how Ansible reaches the city's desks over ssh; staging sets it).
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

# A restarted container keeps /run: a stale pid file would stop chronyd from starting.
rm -f /run/chrony/chronyd.pid
# This desk's own ssh host keys, made on its first start.
ssh-keygen -A >/dev/null
mkdir -p /run/sshd
/usr/sbin/cupsd -f &
chronyd -d -x -u _chrony -f "$chrony_conf" &
/usr/sbin/sshd -D -e -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no &
wait -n
status=$?
echo "dvc-terminal: a service exited with status $status; stopping" >&2
kill -TERM $(jobs -p) 2>/dev/null || true
wait || true
exit "$status"
