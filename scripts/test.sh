#!/usr/bin/env bash
# The whole test suite from a fresh clone: a virtualenv with forewarn and its test
# dependencies, the real services (Kafka, Redis, Prometheus) on loopback, then pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not services"`.
#
# Python: CPython 3.11 or 3.12 (scripts/python.sh picks one when python3 is newer). Without
# extra arguments, when the other of the two is installed too, the suite without services
# (`-m "not services"`) also runs on it, in .venv-3.X (FOREWARN_SECOND_PYTHON=0 skips that).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

supported() { "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null; }

# A virtualenv at $1 on a supported Python ($2), with forewarn and the test dependencies.
venv() {
  local dir="$1" py="$2"
  if [ -x "$dir/bin/python" ] && ! supported "$dir/bin/python"; then
    echo "[test] $dir has an unsupported Python ($("$dir/bin/python" -V 2>&1)): recreating it"
    rm -rf "$dir"
  fi
  if [ ! -x "$dir/bin/python" ]; then
    echo "[test] creating $dir with $("$py" -V 2>&1)"
    "$py" -m venv "$dir"
  fi
  echo "[test] installing forewarn and test dependencies into $dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
}

PY="$(bash scripts/python.sh)"
venv .venv "$PY"

bash scripts/services.sh start
set -a
# shellcheck disable=SC1091
. "${FOREWARN_CACHE:-$HOME/.cache/forewarn}/run/services.env"
set +a

# pytest exits 5 when it collected no test: that is a failure here, like any other non-zero code.
if [ "$#" -gt 0 ] || [ "${FOREWARN_SECOND_PYTHON:-1}" = "0" ]; then
  exec .venv/bin/python -m pytest "$@"
fi
main_version="$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
status=0
.venv/bin/python -m pytest || status=$?
if OTHER="$(bash scripts/python.sh --not "$main_version")"; then
  other_version="$("$OTHER" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  echo "[test] and without services on Python $other_version"
  venv ".venv-$other_version" "$OTHER"
  ".venv-$other_version/bin/python" -m pytest -q -m "not services" -p no:cacheprovider || status=$?
else
  echo "[test] only Python $main_version found: the suite ran on it alone (install 3.11 or 3.12 as well to test both)"
fi
exit "$status"
