#!/usr/bin/env bash
# Installs the S3-compatible server the blob store tests start on loopback: moto's server (PyPI `moto[server]`).
# Garage, the preferred server, does not build within the CI limits on a two-core machine; see tests/blob.rs.
set -euo pipefail
if command -v moto_server >/dev/null 2>&1; then
  exit 0
fi
echo "installing: moto[server]"
python3 -m pip install -q "moto[server]"
