#!/usr/bin/env bash
# npm run test:no-gloo: the promise that Gloo is optional. Builds the addon without it
# (-DRNN_GLOO=OFF) into build-nogloo/ (build/Release is left alone), then, loading that build
# (RNN_NATIVE_PREBUILD, honoured by node-gyp-build in every process and thread):
#   1. distributed.isAvailable() is false and initProcessGroup() rejects with an Error naming
#      libgloo-dev, while training in one process works;
#   2. the distributed test files skip with their message and fail nothing.
# SKIP_BUILD=1 reuses an existing build-nogloo/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=build-nogloo/build
if [ -z "${SKIP_BUILD:-}" ]; then
  npx cmake-js compile --out "$out" --CDRNN_GLOO=OFF >build-nogloo.log 2>&1 || {
    tail -40 build-nogloo.log
    echo "test:no-gloo: the build without Gloo failed (full log in build-nogloo.log)" >&2
    exit 1
  }
fi
addon="$out/Release/rnn_native.node"
[ -f "$addon" ] || { echo "test:no-gloo: $addon is missing" >&2; exit 1; }
if ldd "$addon" | grep -q gloo; then echo "test:no-gloo: $addon links Gloo" >&2; exit 1; fi

export RNN_NATIVE_PREBUILD="$root/build-nogloo"
npx tsc -p tsconfig.build.json
node -e '
const rnn = require(".");
(async () => {
  if (rnn.distributed.isAvailable()) throw new Error("isAvailable() is true in a build without Gloo");
  let message = "";
  try {
    await rnn.distributed.initProcessGroup({ rank: 0, worldSize: 1, initMethod: "tcp://127.0.0.1:29999" });
  } catch (e) {
    message = e.message;
  }
  if (!message.includes("sudo apt-get install -y libgloo-dev")) throw new Error("initProcessGroup did not name libgloo-dev: " + JSON.stringify(message));
  rnn.manualSeed(1);
  const lm = new rnn.LanguageModel({ vocabSize: 5, hiddenSize: 8 });
  const r = rnn.fitSync(lm, Int32Array.from({ length: 400 }, (_, i) => i % 5), { batchSize: 4, seqLength: 8, validationFraction: 0 });
  if (!(r.steps > 0)) throw new Error("training did not run");
  console.log("test:no-gloo: initProcessGroup says: " + message);
})().catch((e) => { console.error(e); process.exit(1); });
'
npx jest test/85 test/86 test/87 test/88 2>&1 | tee build-nogloo/jest.log
grep -q 'skipped: this build of rnn-native has no distributed backend' build-nogloo/jest.log || {
  echo "test:no-gloo: the distributed tests did not say they were skipped" >&2
  exit 1
}
echo "test:no-gloo: ok"
