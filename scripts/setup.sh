#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine: the system packages the native build needs
# (through sudo when not root), then `npm ci`, which builds the addon and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends cmake g++ make libopenblas-dev >/dev/null

node --version
npm --version
npm ci --no-audit --no-fund
