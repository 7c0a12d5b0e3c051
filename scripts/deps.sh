#!/bin/sh
# Install what beamdump needs to build, test and make its sample dumps (Debian bookworm).
# Idempotent: installs only the packages that are missing.
set -e
pkgs="build-essential cmake pkg-config libzstd-dev zstd zlib1g-dev gzip libelf-dev libdwarf-dev libcmocka-dev
      erlang-base erlang-dev erlang-crypto erlang-tools erlang-observer erlang-src elixir
      python3 python3-jsonschema clang-14 libclang-rt-14-dev chromium"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
