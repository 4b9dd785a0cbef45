#!/usr/bin/env bash
# A Python with a PyTorch 2.x CPU build beside Debian's torch 1.13, for the benchmark's second
# PyTorch column (bench/run.js calls this). Finds the newest torch-2.* wheel for this Python
# in TORCH_WHEEL_DIR (default /opt/wheels), makes a venv that sees the system's packages
# (--system-site-packages: the wheel's dependencies come from Debian) and installs the wheel
# into it offline (--no-deps --no-index). Idempotent: a venv whose torch already imports as
# 2.x is used as it is.
#
#   scripts/torch2-venv.sh        # prints the venv's python on the last line of stdout
#
# Exit 0 with the interpreter's path; exit 3 with one "skipped: ..." line on stderr when no
# wheel is there (the benchmark then runs without the column); other codes on failure.
# TORCH2_VENV overrides where the venv lives (default /opt/torch2-venv where /opt is
# writable, else ~/.cache/rnn-native/torch2-venv).
set -euo pipefail

wheel_dir="${TORCH_WHEEL_DIR:-/opt/wheels}"
if [[ -n "${TORCH2_VENV:-}" ]]; then
  venv="$TORCH2_VENV"
elif [[ -d /opt/torch2-venv || -w /opt ]]; then
  venv=/opt/torch2-venv
else
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/rnn-native/torch2-venv"
fi
# The interpreters to build the venv from, in order: the wheel's dependencies (typing_extensions
# and the like) must be importable by the base interpreter's site packages, which is true of
# python3 on PATH here but not of Debian's own (its typing_extensions is too old for torch 2.x).
if [[ -n "${TORCH2_BASE_PYTHON:-}" ]]; then
  bases=("$TORCH2_BASE_PYTHON")
else
  bases=()
  on_path="$(command -v python3 || true)"
  [[ -n "$on_path" ]] && bases+=("$on_path")
  [[ "$on_path" != /usr/bin/python3 && -x /usr/bin/python3 ]] && bases+=(/usr/bin/python3)
fi

# Removes the venv directory, but only when it is one (pyvenv.cfg) or empty: TORCH2_VENV may
# point anywhere.
clear_venv() {
  if [[ -e "$venv" && ! -f "$venv/pyvenv.cfg" && -n "$(ls -A "$venv" 2>/dev/null)" ]]; then
    echo "torch2-venv: $venv exists and is not a venv: not touching it" >&2
    exit 1
  fi
  rm -rf "$venv"
}

# The venv's torch version, or nothing when it has none (or not 2.x).
venv_torch() {
  [[ -x "$venv/bin/python" ]] || return 0
  "$venv/bin/python" -c 'import torch, sys; v = torch.__version__; print(v) if int(v.split(".")[0]) >= 2 else None' 2>/dev/null || true
}

have="$(venv_torch)"
if [[ -n "$have" ]]; then
  echo "torch2-venv: using $venv (torch $have)" >&2
  echo "$venv/bin/python"
  exit 0
fi

if [[ ${#bases[@]} -eq 0 ]]; then
  echo "torch2-venv: skipped: no python3 to make a venv with" >&2
  exit 3
fi
for base in "${bases[@]}"; do
  tag="$("$base" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  wheel=""
  if [[ -d "$wheel_dir" ]]; then  # the newest version for this interpreter (sort -V on the names)
    wheel="$(find "$wheel_dir" -maxdepth 1 -name "torch-2.*-${tag}-${tag}-*linux*x86_64.whl" -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)"
  fi
  if [[ -z "$wheel" ]]; then
    echo "torch2-venv: no torch 2.x wheel for $tag ($base) under $wheel_dir" >&2
    continue
  fi
  echo "torch2-venv: installing $wheel into $venv (from $base)" >&2
  clear_venv
  mkdir -p "$(dirname "$venv")"
  "$base" -m venv --system-site-packages "$venv" >&2
  "$venv/bin/pip" install --quiet --no-deps --no-index "$wheel_dir/$wheel" >&2
  have="$(venv_torch)"
  if [[ -n "$have" ]]; then
    echo "torch2-venv: $venv ready (torch $have)" >&2
    echo "$venv/bin/python"
    exit 0
  fi
  echo "torch2-venv: torch does not import in a venv made from $base (its site packages lack a dependency)" >&2
  clear_venv
done
echo "torch2-venv: skipped: no usable torch 2.x wheel under $wheel_dir" >&2
exit 3
