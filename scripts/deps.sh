#!/bin/sh
# Install what beamdump needs to build, test and make its sample dumps (Debian bookworm).
# Idempotent: installs only the packages that are missing.
set -e
# What make demo, make check and make install use: compilers and cmake, zstd and zlib
# (input formats; the zstd tool also unpacks test fixtures), libelf and libdwarf (core
# files), cmocka (tests), erlang-base + erlang-dev (ei for capture; the real VM makes
# the sample dumps), elixir (Elixir samples and tests), python3-jsonschema (JSON
# schema checks), clang-14 + libclang-rt-14-dev (the libFuzzer harnesses: make fuzz
# and the short run in make check; clang also builds a crashing NIF of samples/nif),
# chromium (the report's tests run the page in a
# real browser, headless). `deps.sh bench` adds what make bench compares
# against: crashdump_viewer (erlang-observer, which pulls in wx).
pkgs="build-essential cmake pkg-config libzstd-dev zstd zlib1g-dev gzip libelf-dev libdwarf-dev
      libcmocka-dev erlang-base erlang-dev elixir python3 python3-jsonschema
      clang-14 libclang-rt-14-dev chromium"
[ "${1:-}" = bench ] && pkgs="$pkgs erlang-observer"
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
