#!/usr/bin/env bash
# npm run bench:guard: what response rate limiting and DNS cookies cost per answer, in server CPU
# (docs/performance.md, "What the defences cost"). The static mix (www.example.net A) with dnsperf,
# as bench/run.sh measures it, against one server in each configuration:
#   rrl-off          --rrl-rate 0: neither limiter nor exemption check
#   loopback-exempt  the defaults: every answer passes the exemption check (loopback is exempt)
#   rrl-counting     --rrl-exempt none --rrl-rate 1000000: every answer is counted in a bucket, none limited
#   cookie-client    as rrl-counting, each query with a client cookie: one SipHash per answer
#   cookie-valid     as rrl-counting, each query with a valid server cookie: one SipHash, no bucket
# The server is pinned to CPU 0 and dnsperf to CPU 1.
#   GUARD_SECONDS=10 npm run bench:guard
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${GUARD_SECONDS:-10}
OUT=bench/out
mkdir -p "$OUT"
command -v dnsperf >/dev/null || { echo "dnsperf is not installed (apt-get install dnsperf)" >&2; exit 1; }

npm run -s build
node bench/make-queries.mjs "$OUT"

port=15373
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

wait_udp() {
  for _ in $(seq 1 100); do
    dig @127.0.0.1 -p "$port" +time=1 +tries=1 www.example.net A >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on $port did not answer" >&2; exit 1
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

run() { # label "dnsperf options" [serve options]
  local label=$1 extra=$2; shift 2
  MERIDIAN_LOG_LEVEL=warn taskset -c 0 node dist/main.js serve --zones zones --dns "127.0.0.1:$port" --admin 127.0.0.1:0 \
    --admin-token-file "$OUT/guard-token" --no-checks "$@" & pid=$!
  wait_udp
  if [ "$extra" = valid-cookie ]; then
    # A server cookie this server made for 127.0.0.1 (dig prints it), sent back with every query.
    extra="-E 10:$(dig @127.0.0.1 -p "$port" +cookie=0102030405060708 www.example.net A | awk '/; COOKIE:/ { print $3 }')"
  fi
  local t0; t0=$(cpu_ticks)
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/static.txt" -l "$SECONDS_PER_RUN" -q 200 -c 4 -T 1 $extra >"$OUT/guard-$label.txt" 2>&1
  local t1; t1=$(cpu_ticks)
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  awk -v label="$label" -v t=$((t1 - t0)) -v u="$TICK_US" '
    /Queries per second:/ { qps = $4 }
    /Queries completed:/ { done = $3 }
    /Queries lost:/ { lost = $3 }
    END { printf "%-16s %10.0f qps   lost %-6s  server CPU %5.1f us/answer\n", label, qps, lost, t * u / done }' "$OUT/guard-$label.txt"
}

echo "node $(node --version), $(nproc) cores, ${SECONDS_PER_RUN}s per run, static mix"
run rrl-off "" --rrl-rate 0
run loopback-exempt ""
run rrl-counting "" --rrl-exempt none --rrl-rate 1000000
run cookie-client "-E 10:0102030405060708" --rrl-exempt none --rrl-rate 1000000
run cookie-valid valid-cookie --rrl-exempt none --rrl-rate 1000000
