#!/usr/bin/env bash
# Runs the native UDP part under AddressSanitizer and UndefinedBehaviorSanitizer: builds
# build/udp-batch-asan.node (scripts/build-native.mjs --sanitize), preloads the sanitizer runtimes
# into node (node itself is not instrumented; the addon is, and ASan's allocator backs every
# malloc), and runs scripts/native-stress.mjs against it, which drives every path of the addon
# with real loopback traffic. Any sanitizer report fails the run (halt_on_error).
#
#   bash native/test-sanitizers.sh          (needs a C compiler with libasan and libubsan: gcc, build-essential)
#
# Leak detection is off: node frees little at exit on purpose, and those allocations are not ours.
# test/e2e/native-sanitizers.test.ts runs this script as part of the suite when it can.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-cc}
asan=$("$CC" -print-file-name=libasan.so)
ubsan=$("$CC" -print-file-name=libubsan.so)
for lib in "$asan" "$ubsan"; do
  [ -f "$lib" ] || { echo "no sanitizer runtime: $lib (install gcc, or build-essential)" >&2; exit 2; }
done
[ -f dist/dns/server.js ] || { echo "dist/ is not built: run npm run build first" >&2; exit 2; }
node scripts/build-native.mjs --sanitize
export MERIDIAN_NATIVE_UDP="$PWD/build/udp-batch-asan.node"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
LD_PRELOAD="$asan $ubsan" node --expose-gc scripts/native-stress.mjs
