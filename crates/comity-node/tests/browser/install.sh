#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium and chromium-driver, and axe-core from the npm registry
# into crates/comity-node/tests/browser/node_modules (ignored by git). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "installing: chromium chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ ! -f node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing: axe-core (npm)"
    npm install --silent --no-audit --no-fund --no-save --prefix . axe-core@4 >/dev/null
  else
    echo "npm is missing: the accessibility checks will be skipped" >&2
  fi
fi
