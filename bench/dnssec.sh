#!/usr/bin/env bash
# npm run bench:dnssec: signed answers against the same answers unsigned, in one run, with dnsperf.
# A copy of the shipped zones with gslb.example.org signed (dnssec: {}, ECDSA P-256); each mix is
# sent with DO=0 and then DO=1 (dnsperf -D), interleaved, server on CPU 0 and dnsperf on CPU 1.
# NXDOMAIN names are all different, so with DO=1 each needs a fresh signature (compact denial,
# RFC 9824): that mix measures the cost of a cold signature under load. bench/sign-cost.mjs times
# one signature alone.
#   BENCH_SECONDS=10 npm run bench:dnssec      (default 10 s per run)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
OUT=bench/out/dnssec
mkdir -p "$OUT"
command -v dnsperf >/dev/null || { echo "dnsperf is not installed (apt-get install dnsperf)" >&2; exit 1; }
npm run -s build
node bench/make-queries.mjs "$OUT"
# NXDOMAIN names in the signed zone, all different.
node -e "require('node:fs').writeFileSync('$OUT/nx-signed.txt', Array.from({ length: 400000 }, (_, i) => 'nx' + i.toString(36) + '.gslb.example.org A').join('\n') + '\n')"
echo 'www.gslb.example.org AAAA' >"$OUT/static-signed.txt"

work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; wait "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/zones" "$work/state"
cp zones/* "$work/zones/"
sed -i 's/^ns: \[ns1, ns2\]$/ns: [ns1, ns2]\ndnssec: {}/' "$work/zones/gslb.example.org.yaml"
grep -q '^dnssec:' "$work/zones/gslb.example.org.yaml" || { echo "could not sign the bench zone" >&2; exit 1; }

port=15354
MERIDIAN_LOG_LEVEL=warn taskset -c 0 node dist/main.js serve --zones "$work/zones" --state "$work/state" --dns "127.0.0.1:$port" --admin 127.0.0.1:15355 &
pid=$!
for _ in $(seq 1 100); do dig @127.0.0.1 -p "$port" +time=1 +tries=1 www.gslb.example.org AAAA >/dev/null 2>&1 && break; sleep 0.1; done
dig @127.0.0.1 -p "$port" +dnssec www.gslb.example.org AAAA | grep -q RRSIG || { echo "the bench zone is not signed" >&2; exit 1; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
perf() { # queryfile label [extra dnsperf args]
  local t0 t1; t0=$(cpu_ticks)
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$1" -l "$SECONDS_PER_RUN" -q 200 -c 4 -T 1 "${@:3}" >"$OUT/$2.txt" 2>&1
  t1=$(cpu_ticks)
  local qps lat done_q cpu
  qps=$(awk '/Queries per second:/ {print $4}' "$OUT/$2.txt")
  lat=$(awk '/Average Latency/ {print $4}' "$OUT/$2.txt")
  done_q=$(awk '/Queries completed:/ {print $3}' "$OUT/$2.txt")
  cpu=$(awk -v t=$((t1 - t0)) -v u="$TICK_US" -v n="$done_q" 'BEGIN { printf "%.1f", t * u / n }')
  printf '%-24s %10s qps   avg latency %10s s   server CPU %5s us/answer\n' "$2" "$qps" "$lat" "$cpu"
  echo "$qps" >"$OUT/$2.qps"
  echo "$cpu" >"$OUT/$2.cpu"
}

echo "node $(node --version), $(nproc) cores, ${SECONDS_PER_RUN}s per run; zone gslb.example.org signed with ECDSA P-256"
ECS=8:00011800510245 # EDNS Client Subnet 81.2.69.0/24 (a UK network), as bench/run.sh sends
mixes="static-signed policy-weighted policy-geo-ecs policy-failover policy-latency"
for mix in $mixes; do
  perf "$OUT/$mix.txt" "$mix-do0" -E "$ECS"
  perf "$OUT/$mix.txt" "$mix-do1" -E "$ECS" -D
done
perf "$OUT/nx-signed.txt" nxdomain-do0
perf "$OUT/nx-signed.txt" nxdomain-do1 -D
echo
for mix in $mixes nxdomain; do
  awk -v a="$(cat "$OUT/$mix-do1.qps")" -v b="$(cat "$OUT/$mix-do0.qps")" -v ca="$(cat "$OUT/$mix-do1.cpu")" -v cb="$(cat "$OUT/$mix-do0.cpu")" -v m="$mix" \
    'BEGIN { printf "%-16s DO=1 vs DO=0: %.2fx qps   CPU per answer %.2fx (+%.1f us)\n", m, a / b, ca / cb, ca - cb }'
done
curl -s http://127.0.0.1:15355/metrics | grep '^meridian_dnssec_signatures_total' || true
node bench/sign-cost.mjs
