#!/usr/bin/env bash
# Sourced (from the repository root) by scripts/test.sh and .ci/run: installs what the
# firmware and super-convergence tests need when it is missing, and puts target/tools/bin
# on PATH:
#   - the thumbv7em-none-eabihf Rust target (rustup target add),
#   - qemu-system-arm (apt-get, when run as root; otherwise it stops and says what to install),
#   - defmt-print (cargo install into target/tools),
#   - python3 (standard library only; apt-get when run as root).

die() {
  printf 'scripts/tools.sh: %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# apt-get install PACKAGE... as root; its output goes to target/tools/apt.log (shown on failure).
apt_install() {
  have apt-get || die "cannot install $* (no apt-get): install $* with your package manager"
  mkdir -p target/tools
  local log=target/tools/apt.log
  echo "scripts/tools.sh: installing $* with apt-get (log: $log)"
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "apt-get install $* failed (full log: $log)"
  fi
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# The firmware test: the Cortex-M4F target.
TARGET=thumbv7em-none-eabihf
have rustup || die "rustup not found: the firmware test needs the $TARGET target (install rustup, then \`rustup target add $TARGET\`)"
if ! rustup target list --installed | grep -qx "$TARGET"; then
  rustup target add "$TARGET"
fi

# The firmware test: QEMU's Arm system emulator.
if ! have qemu-system-arm; then
  if is_root; then
    apt_install qemu-system-arm
  else
    die "qemu-system-arm not found: install it (Debian/Ubuntu: \`sudo apt-get install -y qemu-system-arm\`), or run this script as root to have it installed"
  fi
  have qemu-system-arm || die "qemu-system-arm still not on PATH after installing it"
fi

# The firmware test: the defmt log decoder, built once into target/tools.
export PATH="$PWD/target/tools/bin:$PATH"
if ! have defmt-print; then
  cargo install defmt-print --locked --root target/tools
fi

# The super-convergence smoke test runs bench/superconvergence.sh: bash and python3
# (standard library only: json, csv, math, ...).
if ! have python3; then
  if is_root; then
    apt_install python3
  else
    die "python3 not found: bench/superconvergence.sh needs it (standard library only); install it (Debian/Ubuntu: \`sudo apt-get install -y python3\`), or run this script as root to have it installed"
  fi
fi
python3 -c 'import argparse, csv, json, math, os, platform, re, shutil, subprocess, sys, time' ||
  die "python3 lacks standard-library modules that bench/superconvergence.sh needs (see above)"


# The Python package's tests (python/tests): a virtualenv under target/ with torch (CPU is
# enough; pinned like the benchmarks' anchor), numpy, pytest and maturin, made once and
# reused; then the package built from python/ and installed into it (`pip install ./python`,
# rebuilt each time so the tests run the code as it is). PY_VENV names another venv.
PY_VENV=${PY_VENV:-target/py-venv}
TORCH_PIN=${TORCH_PIN:-2.15}
python3 -c 'import venv, ensurepip' 2>/dev/null || {
  if is_root; then apt_install python3-venv; else die "python3 lacks venv/ensurepip: install python3-venv"; fi
}
if ! "$PY_VENV/bin/python" -c "import torch, numpy, pytest, maturin, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_PIN.') else 1)" 2>/dev/null; then
  echo "scripts/tools.sh: installing torch==$TORCH_PIN.*, numpy, pytest and maturin into $PY_VENV (once; a few minutes)"
  python3 -m venv "$PY_VENV"
  "$PY_VENV/bin/pip" install -q --upgrade pip
  "$PY_VENV/bin/pip" install -q "torch==$TORCH_PIN.*" numpy pytest "maturin>=1.5,<2"
fi
