#!/usr/bin/env bash
# `npm run setup`: installs the Debian packages the test suite drives (scripts/preflight.mjs has
# the list, and why each is needed), plus dnsperf for `npm run bench`, ca-certificates,
# python3-pygraphviz (dnsviz grok), and build-essential for the native part of the batched UDP
# path (`npm run build` compiles it when a C compiler is there; its tests skip, saying so, when it
# is not). Not gdnsd, which `npm run bench:workers` compares against: its package starts a DNS
# server on port 53 where systemd runs. Uses sudo when not run as root. .ci/run calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."
# Read the list before any sudo: sudo's PATH may not have this node.
# shellcheck disable=SC2207 # one word per package
pkgs=($(node scripts/preflight.mjs --packages) dnsperf ca-certificates python3-pygraphviz build-essential)
command -v apt-get >/dev/null || { echo "setup: apt-get not found; install these (Debian names) yourself: ${pkgs[*]}" >&2; exit 1; }
as=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup: not root and no sudo; run it as root: bash scripts/setup-debian.sh" >&2; exit 1; }
  as=(sudo)
fi
"${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
node scripts/preflight.mjs
echo "setup: every tool the tests use is installed"
