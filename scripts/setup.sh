#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine: the system packages the native build needs
# (through sudo when not root), then `npm ci`, which builds the addon and the TypeScript.
#
# When another apt or dpkg is running (unattended-upgrades, a second setup), this waits for it
# to finish, up to APT_LOCK_WAIT seconds (default 600), instead of failing at once.
set -euo pipefail

APT_LOCK_WAIT="${APT_LOCK_WAIT:-600}"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# `apt-get update`, waiting while another apt holds the package lists' lock
# (/var/lib/apt/lists/lock). apt itself waits only for dpkg's lock (DPkg::Lock::Timeout, used
# by apt_install below); for this one it fails at once (apt 2.6, Debian 12), so we retry.
# Extra arguments go to apt-get before `update`.
apt_update() {
  local deadline=$((SECONDS + APT_LOCK_WAIT)) err said="" status
  err=$(mktemp)
  while true; do
    status=0
    $SUDO apt-get -qq -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" "$@" update 2>"$err" || status=$?
    if [ "$status" = 0 ] || ! grep -q 'Could not get lock' "$err" || [ "$SECONDS" -ge "$deadline" ]; then
      cat "$err" >&2
      rm -f "$err"
      return "$status"
    fi
    if [ -z "$said" ]; then
      echo "setup: another apt is updating the package lists; waiting for it (up to ${APT_LOCK_WAIT} s): $(grep -m1 'Could not get lock' "$err")" >&2
      said=1
    fi
    sleep 2
  done
}

# `apt-get install` of the given packages; apt waits for dpkg's lock itself (and says so).
apt_install() {
  $SUDO apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" "$@" >/dev/null
}

main() {
  cd "$(dirname "$0")/.."
  apt_update
  # libgloo-dev: Gloo, for data-parallel training (optional: without it the addon builds, and
  # distributed.initProcessGroup says to install it).
  apt_install cmake g++ make libopenblas-dev libgloo-dev
  node --version
  npm --version
  npm ci --no-audit --no-fund
}

# Sourcing the script (to test apt_update) defines the functions and runs nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
