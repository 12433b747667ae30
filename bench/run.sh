#!/usr/bin/env bash
# npm run bench: Meridian against Node's bare UDP ceiling, with dnsperf, in one run.
# The server is pinned to CPU 0 and dnsperf to CPU 1 (taskset), so each figure means "one server
# core". Mixes: a static A name, NXDOMAIN names (all different), and a mix of every record type.
#   BENCH_SECONDS=15 npm run bench        (default 15 s per mix)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${BENCH_SECONDS:-15}
OUT=bench/out
mkdir -p "$OUT"
command -v dnsperf >/dev/null || { echo "dnsperf is not installed (apt-get install dnsperf)" >&2; exit 1; }
CEILING=${CEILING:-../shared/bench/node-ceiling.js}

npm run -s build
node bench/make-queries.mjs "$OUT"

port_ceiling=15399
port_meridian=15353
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_udp() { # port name
  for _ in $(seq 1 100); do
    dig @127.0.0.1 -p "$1" +time=1 +tries=1 "$2" A >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on $1 did not answer" >&2; exit 1
}

# CPU time (clock ticks) the server process has used: utime + stime, /proc/PID/stat fields 14-15.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

perf() { # port queryfile label [extra dnsperf args]
  local t0; t0=$(cpu_ticks)
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -d "$2" -l "$SECONDS_PER_RUN" -q 200 -c 4 -T 1 "${@:4}" >"$OUT/$3.txt" 2>&1
  local qps lat lost
  qps=$(awk '/Queries per second:/ {print $4}' "$OUT/$3.txt")
  lat=$(awk '/Average Latency/ {print $4}' "$OUT/$3.txt")
  lost=$(awk '/Queries lost:/ {print $3}' "$OUT/$3.txt")
  local done_q t1 cpu
  done_q=$(awk '/Queries completed:/ {print $3}' "$OUT/$3.txt")
  t1=$(cpu_ticks)
  # Around 100k qps dnsperf's own core is the limit; server CPU per answer still compares.
  cpu=$(awk -v t=$((t1 - t0)) -v u="$TICK_US" -v n="$done_q" 'BEGIN { printf "%.1f", t * u / n }')
  printf '%-28s %12s qps   avg latency %10s s   lost %-4s  server CPU %5s us/answer\n' "$3" "$qps" "$lat" "$lost" "$cpu"
  echo "$qps" >"$OUT/$3.qps"
  echo "$cpu" >"$OUT/$3.cpu"
}

echo "node $(node --version), $(nproc) cores, ${SECONDS_PER_RUN}s per run"
if [ -f "$CEILING" ]; then
  taskset -c 0 node "$CEILING" "$port_ceiling" >/dev/null & pids+=($!); SERVER_PID=$!
  wait_udp "$port_ceiling" www.example.net
  perf "$port_ceiling" "$OUT/static.txt" ceiling-static
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
else
  echo "no node-ceiling.js at $CEILING; skipping the ceiling"
fi

MERIDIAN_LOG_LEVEL=warn taskset -c 0 node dist/main.js serve --zones zones --dns "127.0.0.1:$port_meridian" --admin 127.0.0.1:0 --admin-token-file "$OUT/token" & pids+=($!); SERVER_PID=$!
wait_udp "$port_meridian" www.example.net
perf "$port_meridian" "$OUT/static.txt" meridian-static
perf "$port_meridian" "$OUT/nxdomain.txt" meridian-nxdomain
perf "$port_meridian" "$OUT/mix.txt" meridian-mix
# Policy answers, with EDNS Client Subnet 81.2.69.0/24 (family 1, source 24, scope 0; RFC 7871 §6).
ECS=8:00011800510245
perf "$port_meridian" "$OUT/static.txt" meridian-static-ecs -E "$ECS"
for mix in policy-weighted policy-geo-ecs policy-failover policy-latency; do
  perf "$port_meridian" "$OUT/$mix.txt" "meridian-$mix" -E "$ECS"
done

for mix in policy-weighted policy-geo-ecs policy-failover policy-latency; do
  awk -v p="$(cat "$OUT/meridian-$mix.qps")" -v s="$(cat "$OUT/meridian-static.qps")" -v m="$mix" \
    -v pc="$(cat "$OUT/meridian-$mix.cpu")" -v sc="$(cat "$OUT/meridian-static.cpu")" \
    'BEGIN { printf "%-18s qps vs static: %.2fx   CPU per answer vs static: %.2fx\n", m, p / s, pc / sc }'
done
if [ -f "$OUT/ceiling-static.qps" ]; then
  awk -v m="$(cat "$OUT/meridian-static.qps")" -v c="$(cat "$OUT/ceiling-static.qps")" \
    -v mc="$(cat "$OUT/meridian-static.cpu")" -v cc="$(cat "$OUT/ceiling-static.cpu")" \
    'BEGIN { printf "static vs ceiling: %.2fx qps   CPU per answer %.2fx\n", m / c, mc / cc }'
fi
