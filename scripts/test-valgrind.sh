#!/usr/bin/env bash
# npm run test:valgrind: scripts/valgrind-smoke.js (training, inference, async calls and a model
# file round trip through the public API) under valgrind memcheck (docs/sanitizers.md).
#
# The addon is the normal optimised build plus debug info (-g, so reports name file:line),
# built into build-valgrind/build/Release and loaded through node-gyp-build's
# RNN_NATIVE_PREBUILD; the normal build/Release is left alone. Any memcheck error, or a
# definitely lost block, exits non-zero. No suppressions are needed today
# (scripts/valgrind.supp lists them if that changes; docs/sanitizers.md says why each one).
# SKIP_BUILD=1 reuses an existing build-valgrind/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=build-valgrind/build

command -v valgrind >/dev/null || { echo "test:valgrind: valgrind is not installed (Debian: apt-get install -y valgrind)" >&2; exit 1; }
if [ -z "${SKIP_BUILD:-}" ]; then
  # Only the configuration's default flags change (-O3 -DNDEBUG to -g -DNDEBUG); the targets'
  # own -O3 (kernels) and -O2 (binding) still apply, so this is the code that ships.
  npx cmake-js compile --out "$out" --CDCMAKE_CXX_FLAGS_RELEASE="-g -DNDEBUG" >build-valgrind.log 2>&1 || {
    tail -40 build-valgrind.log
    echo "test:valgrind: the build failed (full log in build-valgrind.log)" >&2
    exit 1
  }
fi
[ -f "$out/Release/rnn_native.node" ] || { echo "test:valgrind: $out/Release/rnn_native.node is missing" >&2; exit 1; }
[ -f dist/index.js ] || npx tsc -p tsconfig.build.json

export RNN_NATIVE_PREBUILD="$root/build-valgrind"
start=$(date +%s)
status=0
valgrind --tool=memcheck --error-exitcode=1 \
  --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --suppressions=scripts/valgrind.supp --num-callers=30 \
  node scripts/valgrind-smoke.js "$@" || status=$?
echo "test:valgrind: valgrind-smoke under memcheck took $(( $(date +%s) - start )) s (exit $status)"
exit $status
