#!/usr/bin/env node
// npm "install" hook. Uses a prebuild (prebuilds/<platform>-<arch>/) or an existing build when
// one loads; otherwise checks the toolchain and compiles with cmake-js. Set
// RNN_NATIVE_BUILD_FROM_SOURCE=1 (or npm's --build-from-source) to always compile.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const fromSource =
  process.env.RNN_NATIVE_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true';

if (!fromSource) {
  try {
    require('node-gyp-build')(root);
    console.log('rnn-native: using the existing native addon (prebuild or earlier build)');
    process.exit(0);
  } catch {
    // nothing loadable: build it
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(process.execPath, [path.join(__dirname, 'check-toolchain.js')]);
run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--CDCMAKE_BUILD_TYPE=Release']);
