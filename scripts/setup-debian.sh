#!/usr/bin/env bash
# `npm run setup`: installs the Debian packages the test suite drives (scripts/preflight.mjs has
# the list, and why each is needed), plus dnsperf for `npm run bench` and ca-certificates. Asks
# for sudo when not run as root. Used by .ci/run too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v apt-get >/dev/null || { echo "setup: apt-get not found; install these packages (Debian names) yourself: $(node scripts/preflight.mjs --packages) dnsperf" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root (no sudo here): bash scripts/setup-debian.sh" >&2; exit 1; }
  exec sudo bash "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2046 # one word per package
apt-get install -y -qq --no-install-recommends $(node scripts/preflight.mjs --packages) dnsperf ca-certificates >/dev/null
node scripts/preflight.mjs
echo "setup: every tool the tests use is installed"
