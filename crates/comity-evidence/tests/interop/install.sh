#!/bin/sh
# Installs the independent tools the interoperability tests of comity-evidence run against:
# `age` (Debian package), `bagit.py` (PyPI `bagit`) and `case_validate` (PyPI `case-utils`).
# Safe to run repeatedly; tools already present are left alone.
set -eu

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v age >/dev/null 2>&1 || ! command -v age-keygen >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq age
fi

if ! command -v bagit.py >/dev/null 2>&1 || ! command -v case_validate >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check bagit case-utils
    # pyenv installs need their shims refreshed for new scripts.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi

echo "age $(age --version)"
python3 -c 'import importlib.metadata as m; print("bagit", m.version("bagit")); print("case-utils", m.version("case-utils"))'
