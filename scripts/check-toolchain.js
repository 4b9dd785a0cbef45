#!/usr/bin/env node
// Runs before the native build (only when no prebuild matches this platform).
// Fails early with the exact packages to install instead of a wall of cmake output.
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');

const missing = [];
function has(cmd) {
  try { execSync(`${cmd} --version`, { stdio: 'ignore' }); return true; } catch { return false; }
}
if (!has('cmake')) missing.push('cmake');
if (!has('c++') && !has('g++')) missing.push('g++');
const blasHeaders = [
  '/usr/include/x86_64-linux-gnu/cblas.h',
  '/usr/include/aarch64-linux-gnu/cblas.h',
  '/usr/include/openblas/cblas.h',
  '/usr/include/cblas.h',
  '/usr/local/include/cblas.h',
  '/opt/homebrew/opt/openblas/include/cblas.h',
  '/usr/local/opt/openblas/include/cblas.h',
];
if (!process.env.OPENBLAS_ROOT && !blasHeaders.some((p) => fs.existsSync(p))) missing.push('libopenblas-dev');
if (missing.length > 0) {
  console.error(
    `rnn-native: cannot build the native addon: missing ${missing.join(', ')}.\n` +
      `On Debian/Ubuntu run:  sudo apt-get install -y ${missing.join(' ')}\n` +
      '(or set OPENBLAS_ROOT to an OpenBLAS installation prefix), then reinstall.',
  );
  process.exit(1);
}
