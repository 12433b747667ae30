#!/usr/bin/env bash
# npm run bench:workers — DNS workers and the batched UDP path against gdnsd, in one run, on the
# anchors harness (../shared/bench/anchors/run-anchor.sh): the same gslb.test data and policy mix
# (weighted, failover, geo) for every server, dnsperf on one core, the server on the other.
#
#   1. client-bound (closed loop, dnsperf -q 200 -c 4): gdnsd, Meridian dgram and batched with
#      1 worker, and with 2 workers (every process pinned to the server's core);
#   2. at a fixed offered rate (dnsperf -Q 50000, then -Q 100000): server CPU per answer and
#      average latency, gdnsd against Meridian dgram and batched (1 worker);
#   3. workers 1 against 2, unpinned (each may use both cores, and so may dnsperf).
#
# The harness is copied into a scratch directory first, so its results (results/results.tsv,
# raw dnsperf output) stay out of the shared copy; the lines are printed and kept in bench/out/.
#   BENCH_SECONDS=10 bash bench/workers.sh          (default 10 s per run)
#   ANCHORS=/path/to/anchors bash bench/workers.sh
#   SKIP_GDNSD=1 bash bench/workers.sh              (Meridian only)
#   PARTS="1 3" bash bench/workers.sh               (some of the three parts only)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SECS=${BENCH_SECONDS:-10}
# Beside the checkout (../shared), or beside the folder of worktrees (../../shared).
if [ -z "${ANCHORS:-}" ]; then
  ANCHORS=$REPO/../shared/bench/anchors
  [ -d "$ANCHORS" ] || ANCHORS=$REPO/../../shared/bench/anchors
fi
OUT=$REPO/bench/out
mkdir -p "$OUT"
[ -x "$ANCHORS/run-anchor.sh" ] || { echo "no anchors harness at $ANCHORS (set ANCHORS)" >&2; exit 1; }
for t in dnsperf dig taskset; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done
if [ -z "${SKIP_GDNSD:-}" ] && ! command -v gdnsd >/dev/null; then echo "gdnsd is not installed (apt-get install gdnsd, or SKIP_GDNSD=1)" >&2; exit 1; fi

npm run -s build
[ -f build/udp-batch.node ] || { echo "the native UDP part is not built (a C compiler is needed): the batched runs cannot be made" >&2; exit 1; }

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
cp -r "$ANCHORS" "$SCRATCH/anchors"
rm -rf "$SCRATCH/anchors/results" "$SCRATCH/anchors/run"
H="$SCRATCH/anchors/run-anchor.sh"
ZDIR="$SCRATCH/zones"
mkdir -p "$ZDIR"
cp "$ANCHORS/configs/meridian/gslb.test.yaml" "$ZDIR/"

LOG="$OUT/workers-$(date -u +%Y%m%dT%H%M%SZ).txt"
echo "node $(node --version), $(nproc) cores, $(uname -r), ${SECS}s per run" | tee "$LOG"

meridian() { # workers io
  echo "exec env MERIDIAN_LOG_LEVEL=warn node $REPO/dist/main.js serve --zones $ZDIR --dns 127.0.0.1:{PORT} --admin 127.0.0.1:0 --region eu --workers $1 --udp-io $2"
}
run() { # label server args...
  local label=$1 server=$2; shift 2
  local line
  line=$("$H" "$server" policy "$@" -d "$SECS" --quiet --idle-wait 30 2>>"$LOG.err") || { echo "$label: failed (see $LOG.err)" | tee -a "$LOG"; return 0; }
  printf '%-34s %s\n' "$label" "$line" | tee -a "$LOG"
}

PARTS=${PARTS:-1 2 3}
part() { [[ " $PARTS " == *" $1 "* ]]; }

if part 1; then
echo "# 1. client-bound, server pinned to CPU 0" | tee -a "$LOG"
[ -n "${SKIP_GDNSD:-}" ] || run "gdnsd" gdnsd
run "meridian dgram, 1 worker" custom --name meridian-dgram-w1 --cmd "$(meridian 1 dgram)"
run "meridian batched, 1 worker" custom --name meridian-batched-w1 --cmd "$(meridian 1 batched)"
run "meridian dgram, 2 workers" custom --name meridian-dgram-w2 --cmd "$(meridian 2 dgram)"
run "meridian batched, 2 workers" custom --name meridian-batched-w2 --cmd "$(meridian 2 batched)"
fi

part 2 && for rate in 50000 100000; do
  echo "# 2. offered ${rate} qps" | tee -a "$LOG"
  [ -n "${SKIP_GDNSD:-}" ] || run "gdnsd @${rate}" gdnsd -Q "$rate"
  run "meridian dgram, 1 worker @${rate}" custom --name meridian-dgram-w1 --cmd "$(meridian 1 dgram)" -Q "$rate"
  run "meridian batched, 1 worker @${rate}" custom --name meridian-batched-w1 --cmd "$(meridian 1 batched)" -Q "$rate"
done

if part 3; then
echo "# 3. unpinned: server and dnsperf share both cores" | tee -a "$LOG"
[ -n "${SKIP_GDNSD:-}" ] || run "gdnsd unpinned" gdnsd --no-pin
run "meridian batched, 1 worker unpinned" custom --name meridian-batched-w1 --cmd "$(meridian 1 batched)" --no-pin
run "meridian batched, 2 workers unpinned" custom --name meridian-batched-w2 --cmd "$(meridian 2 batched)" --no-pin
fi

# CPU per answer: the server's process group used srv_proc_cpu% of one core over the run.
echo "# CPU per answer (µs) = srv_proc_cpu% / 100 / qps × 1e6" | tee -a "$LOG"
grep -E 'qps=' "$LOG" | sed -E 's/^(.{34}).*qps=([0-9.]+).*srv_proc_cpu=([0-9]+)%.*/\1 \2 \3/' |
  awk '{ label = substr($0, 1, 34); n = split($0, f, " "); qps = f[n - 1]; cpu = f[n]; if (qps > 0) printf "%s %9.0f qps  %5.2f us/answer\n", label, qps, cpu / 100 / qps * 1e6 }' | tee -a "$LOG" || true
echo "written to $LOG"
