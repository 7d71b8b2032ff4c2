#!/usr/bin/env bash
# An offline-made base image for hosts with no registry: Debian bookworm with Python, from the
# Debian mirror apt already uses (debootstrap), imported into the engine. Skipped when an image
# of the same inputs exists. Prints the image's name.
set -euo pipefail
NAME=${GENTRADE_BASE_IMAGE_NAME:-gentrade/debian-base:bookworm}
SUITE=bookworm
PACKAGES=python3,python3-pip,python3-venv,ca-certificates,libgomp1,passwd
MIRROR=${GENTRADE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
inputs=$(printf '%s\n' "$SUITE" "$PACKAGES" "$MIRROR" | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{ index .Config.Labels "gentrade.inputs" }}' "$NAME" 2>/dev/null || true)" = "$inputs" ]; then
  echo "$NAME"
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 3; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
fi
root=$(mktemp -d /var/tmp/gentrade-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $SUITE from $MIRROR (about a minute)" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c "LABEL gentrade.inputs=$inputs" \
  -c 'CMD ["/bin/bash"]' - "$NAME" >/dev/null
echo "$NAME"
