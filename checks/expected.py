"""What a configured one-stop desk and data center must look like, named in one place.

Paths and names here follow the Ansible `terminal` role (playbooks/roles/terminal
defaults and vars): the checks verify what that role sets up, so when the role moves
a file, this is the only place to change.
"""

from __future__ import annotations

from typing import Final

# The Ansible command a technician re-runs to fix a terminal (`<host>` is filled in).
RECONFIGURE: Final = "dvc-rollout configure --limit {host}"

# Browser (terminal_browser_package) and the oldest major version the portal supports
# (Firefox ESR 115 is the oldest ESR still receiving security fixes on Debian 12).
BROWSER_PACKAGE: Final = "firefox-esr"
MIN_BROWSER_VERSION: Final = 115

# Portal shortcut and config (terminal_config_dir, _terminal_desktop_dirs).
PORTAL_CONFIG: Final = "/etc/dvc/portal.conf"
PORTAL_SHORTCUT: Final = "/usr/share/applications/dvc-portal.desktop"
PORTAL_HEALTH_PATH: Final = "/healthz"
PORTAL_TIMEOUT_SECONDS: Final = 10

# Printing (terminal_printer_name) and where the lab's cups-pdf backend writes pages.
PRINTER_QUEUE: Final = "dvc-printer"
CUPS_DAEMON: Final = "cupsd"
PDF_OUTPUT_DIRS: Final = ("/var/spool/cups-pdf/ANONYMOUS", "/root/PDF")
PRINT_WAIT_SECONDS: Final = 30

# Scanning (terminal_sane_backends).
SANE_CONFIG: Final = "/etc/sane.d/dll.conf"

# Time sync (terminal_chrony_config_path); the largest offset still "in sync".
CHRONY_DAEMON: Final = "chronyd"
MAX_TIME_OFFSET_SECONDS: Final = 1.0

# Accounts (terminal_helpdesk_user, terminal_officials_group), and the account the checks
# log in as over ssh (terminal_check_user).
HELPDESK_USER: Final = "dvc-helpdesk"
CHECK_USER: Final = "dvc-check"
OFFICIALS_GROUP: Final = "dvc-officials"

# Disk: free space on the root file system below which a desk is not ready.
DISK_PATH: Final = "/"
MIN_FREE_DISK_BYTES: Final = 1 * 1024**3

# Data center: the TCP ports each role may listen on (anything else is a finding).
LISTENERS: Final[dict[str, frozenset[int]]] = {
    "postgres": frozenset({5432}),
    # admin, smsbox link, sendsms, and one MO port per HTTP SMSC from 14001
    # (playbooks/inventory.py FIRST_MO_PORT).
    "kannel": frozenset({13000, 13001, 13013, *range(14001, 14100)}),
    "portal": frozenset({8080}),
    # 443 when the stack gives the portal front a certificate (dvc-rollout:tlsCert; the lab's CA)
    "nginx": frozenset({80, 443}),
    "prometheus": frozenset({9090}),
}
# The ports a role must listen on (the rest of LISTENERS may be open but need not be).
REQUIRED_LISTENERS: Final[dict[str, frozenset[int]]] = {
    "postgres": frozenset({5432}),
    "kannel": frozenset({13000, 13013}),
    "portal": frozenset({8080}),
    "nginx": frozenset({80}),
    "prometheus": frozenset({9090}),
}
KANNEL_CONFIG: Final = "/etc/kannel/kannel.conf"
PROMETHEUS_TARGETS_URL: Final = "http://127.0.0.1:9090/api/v1/targets?state=active"
