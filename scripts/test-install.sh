#!/usr/bin/env bash
# Proves the promise "installs without a compiler or a download" on linux-x64 (glibc):
# packs the package (prepack builds the self-contained prebuild), installs the tarball into a
# fresh project with cmake, g++, gcc, c++, cc and make shadowed by stubs that fail, then loads
# the addon and trains a tiny model. Exits non-zero if the install tried to compile, if the
# addon that loaded is not the prebuild, or if it needs a shared library beyond glibc.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "test-install: packing (builds prebuilds/ through prepack)"
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -1)"
echo "test-install: $tarball, $(du -h "$work/$tarball" | cut -f1)"

mkdir -p "$work/stubs" "$work/app"
for tool in cmake g++ gcc c++ cc make; do
  printf '#!/bin/sh\necho "test-install: %s was called, but this machine has no compiler" >&2\nexit 127\n' "$tool" > "$work/stubs/$tool"
  chmod +x "$work/stubs/$tool"
done

cd "$work/app"
npm init -y >/dev/null
PATH="$work/stubs:$PATH" npm install --no-audit --no-fund --foreground-scripts "$work/$tarball"

PATH="$work/stubs:$PATH" node -e '
const path = require("node:path");
const dir = path.dirname(require.resolve("rnn-native/package.json"));
const addon = require("node-gyp-build").resolve(dir);
if (!addon.includes(path.join("prebuilds", "linux-x64"))) throw new Error("loaded " + addon + ", not the prebuild");
const rnn = require("rnn-native");
rnn.manualSeed(1);
const lm = new rnn.LanguageModel({ vocabSize: 5, embeddingDim: 4, hiddenSize: 8 });
const opt = new rnn.Adam(lm.parameters(), { lr: 0.05 });
const ids = Int32Array.from({ length: 33 }, (_, i) => i % 5);
let first, last;
for (let step = 0; step < 30; step++) {
  lm.zeroGrad();
  const { logits } = lm.forward(ids.subarray(0, 32), 32, 1);
  const { loss, grad } = rnn.crossEntropy(logits, ids.slice(1));
  lm.backward(grad);
  opt.step();
  if (step === 0) first = loss; last = loss;
}
if (!(last < first / 2)) throw new Error("training did not converge: " + first + " -> " + last);
if (!rnn.distributed.isAvailable()) throw new Error("the prebuild has no Gloo");
console.log("test-install: loaded " + path.relative(dir, addon) + "; loss " + first.toFixed(3) + " -> " + last.toFixed(3));
'
# Gloo compiled in: two ranks through the installed launcher, an allreduce between them.
PATH="$work/stubs:$PATH" npx --no-install rnn-native launch --nproc 2 -- node -e '
const { distributed } = require("rnn-native");
(async () => {
  await distributed.initProcessGroup({ timeoutMs: 20000 });
  const x = Float32Array.of(distributed.getRank() + 1);
  await distributed.allReduce(x);
  if (x[0] !== 3) throw new Error("allReduce gave " + x[0]);
  await distributed.destroyProcessGroup();
  console.log("test-install: rank " + process.env.RANK + " of 2: allReduce ok");
})().catch((e) => { console.error(e); process.exit(1); });
'
needs="$(ldd "$work/app/node_modules/rnn-native/prebuilds/linux-x64/node.napi.glibc.node")"
if echo "$needs" | grep -Eq 'openblas|gfortran|libstdc\+\+|libgcc_s|gloo|ibverbs|hiredis'; then
  echo "test-install: the prebuild depends on shared libraries beyond glibc:" >&2
  echo "$needs" >&2
  exit 1
fi
if [ ! -s "$work/app/node_modules/rnn-native/prebuilds/linux-x64/OPENBLAS-COPYRIGHT" ]; then
  echo "test-install: OpenBLAS's copyright notice is missing next to the prebuild" >&2
  exit 1
fi
if [ ! -s "$work/app/node_modules/rnn-native/prebuilds/linux-x64/GLOO-LICENSE" ]; then
  echo "test-install: Gloo's license is missing next to the prebuild" >&2
  exit 1
fi
echo "test-install: ok"
