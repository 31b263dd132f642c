#!/usr/bin/env bash
# Make the lab's Debian root filesystem as a tarball for `docker import`: no container
# registry is reachable, so every image starts from a debootstrap of Debian bookworm.
# Usage: rootfs.sh OUT.tar   (run as root; .debs are cached under /var/cache/dvc-rollout)
set -euo pipefail

out=${1:?usage: rootfs.sh OUT.tar}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=/var/cache/dvc-rollout/debs
# tini runs multi-process images, curl is every image's health probe.
include=ca-certificates,curl,netbase,tini

mkdir -p "$cache" "$(dirname "$out")"
work=$(mktemp -d /var/tmp/dvc-rootfs.XXXXXX)
cleanup() {
    # debootstrap mounts proc/sys inside the target; never delete through a mount.
    for m in proc sys dev/pts dev; do umount -l "$work/rootfs/$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

debootstrap --variant=minbase --include="$include" --cache-dir="$cache" \
    bookworm "$work/rootfs" "$mirror"
r=$work/rootfs

# Images stay lean: no docs, man pages or translations; no recommends.
cat >"$r/etc/dpkg/dpkg.cfg.d/01-dvc-lean" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
cat >"$r/etc/apt/apt.conf.d/01-dvc-lean" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
CFG
rm -f "$r/etc/apt/sources.list"
cat >"$r/etc/apt/sources.list.d/debian.sources" <<CFG
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
CFG

find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/lintian/*
find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb
rm -rf "$r"/var/log/* "$r"/tmp/* "$r"/var/tmp/*
: >"$r/etc/hostname"
: >"$r/etc/resolv.conf"

tar --numeric-owner --xattrs -C "$r" -cf "$out.part" .
mv "$out.part" "$out"
