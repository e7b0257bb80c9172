#!/usr/bin/env bash
# Prints the path of a Python interpreter forewarn supports: CPython 3.11 or 3.12 (Bytewax
# 0.21.1, the last release, has wheels only up to 3.12 and no source distribution, so
# `pip install` on 3.13 or newer fails with "No matching distribution found for bytewax").
#
#   bash scripts/python.sh              the first of $PYTHON, python3, python3.12, python3.11,
#                                       then pyenv's installed 3.12.x / 3.11.x
#   bash scripts/python.sh --not 3.11   one of another supported minor version (nothing if none)
#
# Exit 1 (with what to install) when there is none.
set -euo pipefail

not=""
if [ "${1:-}" = "--not" ]; then not="$2"; fi

# "3.12 /abs/path/to/python3.12" when the interpreter runs and is supported.
probe() {
  "$@" -c 'import sys
v = sys.version_info[:2]
if (3, 11) <= v < (3, 13):
    print("%d.%d %s" % (v[0], v[1], sys.executable))' 2>/dev/null || true
}

candidates() {
  [ -n "${PYTHON:-}" ] && probe "$PYTHON"
  for name in python3 python3.12 python3.11; do
    if command -v "$name" >/dev/null 2>&1; then probe "$name"; fi
  done
  # pyenv's shims answer only for the versions selected (PYENV_VERSION, .python-version):
  # ask each installed 3.12 / 3.11 directly.
  if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root)"
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[12]\.[0-9]+$' | sort -t. -k2,2nr -k3,3nr); do
      [ -x "$root/versions/$v/bin/python3" ] && probe "$root/versions/$v/bin/python3"
    done
  fi
}

while read -r version path; do
  [ -z "$version" ] && continue
  if [ "$version" != "$not" ]; then echo "$path"; exit 0; fi
done < <(candidates)

if [ -z "$not" ]; then
  echo "forewarn needs CPython 3.11 or 3.12 (Bytewax 0.21.1 has no wheels for newer ones);" \
       "install one (e.g. apt-get install python3.12, or pyenv install 3.12) or set PYTHON=/path/to/python3.12" >&2
fi
exit 1
