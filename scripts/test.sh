#!/usr/bin/env bash
# The whole test suite from a fresh clone: a virtualenv with forewarn and its test
# dependencies, the real services (Kafka, Redis, Prometheus) on loopback, then pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not services"`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[test] creating .venv"
  "$PY" -m venv .venv
fi
echo "[test] installing forewarn and test dependencies into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

bash scripts/services.sh start
set -a
# shellcheck disable=SC1091
. "${FOREWARN_CACHE:-$HOME/.cache/forewarn}/run/services.env"
set +a

# pytest exits 5 when it collected no test: that is a failure here, like any other non-zero code.
exec .venv/bin/python -m pytest "$@"
