#!/usr/bin/env bash
# npm run bench:amplification: how much a spoofed-source flood is amplified — octets Meridian
# sends ÷ octets it receives — with response rate limiting off, and at its defaults (docs/performance.md,
# "Amplification"). The flood is the attacker's best question in the shipped zones, big.example.net A
# (40 addresses) with EDNS (dnsperf -e: a 4096-octet buffer, so the answer is sent whole, up to
# --max-udp-payload 1232), from one address: in a spoofed flood every answer goes to the one victim
# address, whoever sent the question. dnsperf counts what it sent and what came back.
#
# Loopback is exempt from RRL by default (it cannot be spoofed from the network), so the server runs
# with --rrl-exempt none: here loopback stands for the victim's address.
# dnsperf keeps up to 60,000 questions outstanding and gives up on each after a second, so it keeps
# sending at the set rate however many go unanswered, as a spoofer does.
#   AMP_SECONDS=10 AMP_QPS=20000 npm run bench:amplification
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${AMP_SECONDS:-10}
QPS=${AMP_QPS:-20000}
OUT=bench/out
mkdir -p "$OUT"
command -v dnsperf >/dev/null || { echo "dnsperf is not installed (apt-get install dnsperf)" >&2; exit 1; }

npm run -s build
echo "big.example.net A" >"$OUT/amplification.txt"

port=15363
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

flood() { # label "dnsperf options" [serve options]
  local label=$1 extra=$2; shift 2
  MERIDIAN_LOG_LEVEL=warn taskset -c 0 node dist/main.js serve --zones zones --dns "127.0.0.1:$port" --admin 127.0.0.1:0 \
    --admin-token-file "$OUT/amplification-token" --no-checks "$@" & pid=$!
  wait_udp
  # The warm-up query above is one answer; the flood starts with a full bucket.
  sleep 1
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/amplification.txt" -e -l "$SECONDS_PER_RUN" -Q "$QPS" -c 4 -q 60000 -t 1 $extra \
    >"$OUT/amplification-$label.txt" 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  awk -v label="$label" '
    /Queries sent:/ { sent = $3 }
    /Queries completed:/ { done = $3 }
    /Average packet size:/ { gsub(",", "", $5); req = $5; resp = $7 }
    END {
      in_ = sent * req; out = done * resp
      printf "%-22s sent %8d (%5d octets each)  answered %8d (avg %6.1f octets)  in %10d  out %11d  out/in %6.2f\n",
        label, sent, req, done, resp, in_, out, out / in_
    }' "$OUT/amplification-$label.txt"
}

echo "node $(node --version), ${SECONDS_PER_RUN}s at ${QPS} qps, one source address, big.example.net A with EDNS"
flood rrl-off "" --rrl-rate 0
flood rrl-default "" --rrl-exempt none
# The flood carries a client cookie (RFC 7873): its slips are BADCOOKIE with a server cookie, larger.
flood rrl-default-cookie "-E 10:0102030405060708" --rrl-exempt none
flood rrl-slip-0 "" --rrl-exempt none --rrl-slip 0
