#!/bin/sh
# The project's virtual environment, created or repaired on demand (used by `make serve` and `make test`).
# Usage: local/venv.sh PYTHON VENV STAMP REQUIREMENTS... ; a file prefixed "nodeps:" is installed with --no-deps.
# Nothing is installed before PYTHON is known to be 3.11+; a venv whose python does not run, is older than 3.11 or
# has no working pip (a wrong interpreter, a half-finished creation) is rebuilt. STAMP marks a finished install.
set -eu
python=$1 venv=$2 stamp=$3
shift 3

healthy() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

if [ -f "$venv/$stamp" ] && healthy "$venv/bin/python"; then
    exit 0
fi
if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: '$python' was not found. Install Python 3.11 or newer and run again, or name it: make PYTHON=python3.12 ..." >&2
    exit 2
fi
if ! healthy "$python"; then
    echo "error: the gateway needs Python 3.11 or newer; '$python' is $("$python" -V 2>&1 || echo 'not runnable'). Run again with a newer one, e.g. make PYTHON=python3.12 ..." >&2
    exit 2
fi
if [ -e "$venv" ] && ! { healthy "$venv/bin/python" && "$venv/bin/python" -m pip --version >/dev/null 2>&1; }; then
    echo "$venv is broken (wrong or missing Python, or an unfinished install): rebuilding it with $python" >&2
    rm -rf "$venv"
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
for requirements in "$@"; do
    case "$requirements" in
        nodeps:*) "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "${requirements#nodeps:}" ;;
        *) "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" ;;
    esac
done
touch "$venv/$stamp"
