#!/usr/bin/env bash
# Install the System Design Interview Lab for a JupyterHub class (run as root):
#
#     sudo hub/install.sh [PREFIX]          # default PREFIX: /opt/sysdesign-lab
#
# PREFIX/venv       one Python environment every account can run: the course package, nbgrader, JupyterLab,
#                   JupyterHub (a copy of the course, not an editable install: users need not read the repo)
# PREFIX/jupyter    per-role Jupyter configuration (common, instructor, student) from hub/jupyter/
# PREFIX/exchange   the nbgrader exchange (mode 1777)
# PREFIX/state      the hub's database, cookie secret and proxy pid (root only)
# PREFIX/class.toml who is an instructor and who a student (copied from hub/class.example.toml once)
#
# Re-run it after `git pull`: it updates the course package and the role configuration, and keeps
# class.toml, the exchange and the hub state. configurable-http-proxy comes from npm
# (scripts/system-deps.sh installs it). Environment:
#   COURSE_HUB_PYTHON       the interpreter for the venv (default /usr/bin/python3: it must be executable by
#                           every user, so never a Python under /root or a home folder)
#   COURSE_HUB_CONSTRAINTS  a pip constraints file (the tests pin the versions of the development venv)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${1:-${COURSE_HUB_PREFIX:-/opt/sysdesign-lab}}
PYTHON=${COURSE_HUB_PYTHON:-/usr/bin/python3}
CONSTRAINTS=${COURSE_HUB_CONSTRAINTS:-}

if [ "$(id -u)" != 0 ]; then
  echo "hub/install.sh: run it as root (it installs for every account)" >&2
  exit 1
fi
umask 022
mkdir -p "$PREFIX"
VENV=$PREFIX/venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "hub/install.sh: creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi

# The course from a clean copy of the package sources (building in the repository would leave files there).
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp -r "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/course" "$build/"
find "$build" -name __pycache__ -prune -exec rm -rf {} +
hub_req=$(grep -o '"jupyterhub[^"]*"' "$REPO/pyproject.toml" | tr -d '"')
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation)
if [ -n "$CONSTRAINTS" ]; then pip+=(-c "$CONSTRAINTS"); fi
# Dependencies only when pyproject.toml changed (a no-op `pip install` still costs a minute of index queries).
stamp="$VENV/.sysdesign-lab-deps-$(cat "$REPO/pyproject.toml" ${CONSTRAINTS:+"$CONSTRAINTS"} | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  echo "hub/install.sh: installing the course's dependencies and ${hub_req} into $VENV"
  "${pip[@]}" "setuptools>=68"
  "${pip[@]}" "$build" "$hub_req"
  rm -f "$VENV"/.sysdesign-lab-deps-* && touch "$stamp"
fi
echo "hub/install.sh: installing the course package into $VENV"
"${pip[@]}" --no-deps --force-reinstall "$build"   # the same version number may carry new code

rm -rf "$PREFIX/jupyter"
cp -r "$REPO/hub/jupyter" "$PREFIX/jupyter"
install -D -m 644 "$REPO/hub/lab-overrides.json" "$VENV/share/jupyter/lab/settings/overrides.d/sysdesign-lab.json"
[ -f "$PREFIX/class.toml" ] || install -m 644 "$REPO/hub/class.example.toml" "$PREFIX/class.toml"
mkdir -p "$PREFIX/exchange" "$PREFIX/state"
chmod 1777 "$PREFIX/exchange"   # everyone writes; the sticky bit stops users deleting each other's folders
chmod 700 "$PREFIX/state"
chmod -R a+rX "$VENV" "$PREFIX/jupyter"
echo "hub/install.sh: done. Edit $PREFIX/class.toml, then:"
echo "    sudo COURSE_HUB_PREFIX=$PREFIX $VENV/bin/jupyterhub -f $REPO/hub/jupyterhub_config.py"
