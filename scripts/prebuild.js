#!/usr/bin/env node
// Builds the self-contained addon that ships in the npm package: prebuilds/<platform>-<arch>/
// node.napi.glibc.node, with OpenBLAS, libstdc++ and libgcc linked in (CMake option
// RNN_STATIC_OPENBLAS) and Gloo compiled in from native/third_party/gloo (RNN_GLOO=BUNDLED:
// Debian ships no static libgloo), so that `npm install rnn-native` on such a machine needs no
// compiler, no OpenBLAS or Gloo package and no download. Run by `npm run prebuild` and by
// `npm pack` (prepack). Needs what a source build needs: cmake, g++ and libopenblas-dev (for
// libopenblas.a).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'build-prebuild');
const target = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'node.napi.glibc.node');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (process.platform !== 'linux') {
  console.error(`rnn-native prebuild: only linux (glibc) prebuilds are made here, not ${process.platform}`);
  process.exit(1);
}
run(process.execPath, [path.join(__dirname, 'check-toolchain.js')]);
run(process.execPath, [
  require.resolve('cmake-js/bin/cmake-js'), 'compile', '--out', outDir,
  '--CDCMAKE_BUILD_TYPE=Release', '--CDRNN_STATIC_OPENBLAS=ON', '--CDRNN_GLOO=BUNDLED',
]);
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(path.join(outDir, 'Release', 'rnn_native.node'), target);

// OpenBLAS is BSD-3-clause: a binary that contains it carries its copyright notice. Debian
// installs it with the library; it ships next to the prebuild.
const notice = ['libopenblas0-pthread', 'libopenblas0', 'libopenblas-dev']
  .map((pkg) => `/usr/share/doc/${pkg}/copyright`)
  .find((f) => fs.existsSync(f));
if (notice) fs.copyFileSync(notice, path.join(path.dirname(target), 'OPENBLAS-COPYRIGHT'));
else console.warn('rnn-native prebuild: OpenBLAS copyright file not found; add its notice by hand before publishing');
// Gloo is BSD-licensed too: its license ships next to the prebuild that contains it.
fs.copyFileSync(path.join(root, 'native', 'third_party', 'gloo', 'LICENSE'), path.join(path.dirname(target), 'GLOO-LICENSE'));

// What the dynamic loader will need: nothing beyond the C library and the loader itself.
const ldd = spawnSync('ldd', [target], { encoding: 'utf8' });
const needs = (ldd.stdout || '').split('\n').map((l) => l.trim().split(' ')[0]).filter(Boolean);
const unexpected = needs.filter((lib) => !/^(linux-vdso|libc\.so|libm\.so|libpthread\.so|libdl\.so|\/lib64\/ld-linux)/.test(lib));
const size = (fs.statSync(target).size / 2 ** 20).toFixed(1);
console.log(`rnn-native prebuild: ${path.relative(root, target)} (${size} MiB); needs ${needs.join(', ')}`);
if (unexpected.length) {
  console.error(`rnn-native prebuild: unexpected shared-library dependencies: ${unexpected.join(', ')}`);
  process.exit(1);
}
