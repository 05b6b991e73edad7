#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built.
# Everything goes into a virtual environment: the image's system Python may be
# "externally managed" (PEP 668) and refuse pip installs.
# AUTOGRADER_ROOT stands in for /autograder in the kit's own tests;
# CS_LOSS_VENV_ARGS and CS_LOSS_PIP_ARGS pass options to venv and pip (tests use them
# to stay offline); CS_LOSS_GRADE_USER names the unprivileged user (default: student).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="$ROOT/venv"
GRADE_USER="${CS_LOSS_GRADE_USER:-student}"
cd "$ROOT/source"
# shellcheck disable=SC2086  # the option variables are word lists on purpose
if ! python3 -m venv ${CS_LOSS_VENV_ARGS:-} "$VENV"; then
  # Debian and Ubuntu ship venv's pip bootstrap separately.
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    minor="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv "python$minor-venv" > /dev/null \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv > /dev/null || true
  fi
  rm -rf "$VENV"
  python3 -m venv ${CS_LOSS_VENV_ARGS:-} "$VENV"
fi
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install --quiet ${CS_LOSS_PIP_ARGS:-} -r requirements.txt
if [ "$(id -u)" = 0 ]; then
  id -u "$GRADE_USER" > /dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin "$GRADE_USER"
fi
"$VENV/bin/python" -m grading gradescope-prepare --work "$ROOT/source/build/work"
chmod -R go-rwx "$ROOT/source"
echo "setup.sh: ready ($VENV/bin/python)"
