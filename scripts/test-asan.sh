#!/usr/bin/env bash
# npm run test:asan: the jest suite against an AddressSanitizer + UndefinedBehaviorSanitizer
# build of the addon (docs/sanitizers.md).
#
#   1. builds the addon with -DRNN_SANITIZE=ON into build-asan/build/Release (the normal
#      build/Release is left alone) and checks that it really is instrumented;
#   2. runs jest with RNN_NATIVE_PREBUILD=build-asan, which node-gyp-build (the addon loader,
#      also in worker threads and child processes) honours in place of the package root;
#   3. node is not instrumented, so the ASan runtime is LD_PRELOADed. Every UB finding aborts
#      the process (-fno-sanitize-recover=all and halt_on_error=1), which fails the run.
#
# Arguments are passed on to jest (e.g. `npm run test:asan -- test/14.activations.test.ts`).
# SKIP_BUILD=1 reuses an existing build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=build-asan/build

if [ -z "${SKIP_BUILD:-}" ]; then
  npx cmake-js compile --out "$out" --CDRNN_SANITIZE=ON >build-asan.log 2>&1 || {
    tail -40 build-asan.log
    echo "test:asan: the sanitizer build failed (full log in build-asan.log)" >&2
    exit 1
  }
fi
addon="$out/Release/rnn_native.node"
[ -f "$addon" ] || { echo "test:asan: $addon is missing" >&2; exit 1; }

# The build must really be instrumented: a build without the flags would pass silently.
symbols=$(nm -D "$addon")
if ! grep -q ' U __asan_report_' <<<"$symbols" || ! grep -q ' U __ubsan_handle_.*_abort' <<<"$symbols"; then
  echo "test:asan: $addon carries no ASan/UBSan instrumentation" >&2
  exit 1
fi
asan_rt=$(gcc -print-file-name=libasan.so)
[ -f "$asan_rt" ] || { echo "test:asan: no ASan runtime found (gcc -print-file-name=libasan.so)" >&2; exit 1; }
asan_rt=$(readlink -f "$asan_rt")

export RNN_NATIVE_PREBUILD="$root/build-asan"
export LD_PRELOAD="$asan_rt${LD_PRELOAD:+:$LD_PRELOAD}"
# detect_leaks=0: node and V8 keep allocations alive until exit by design, and the leak
# checker cannot tell those from ours (docs/sanitizers.md). Use-after-free, overflows of
# heap, stack and globals, and double frees are all still reported, and abort the run.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

start=$(date +%s)
status=0
npx tsc -p tsconfig.build.json
npx jest "$@" || status=$?
echo "test:asan: jest under ASan+UBSan took $(( $(date +%s) - start )) s (exit $status)"
exit $status
