#!/usr/bin/env bash
# Installs what is missing, builds, and starts the server on its embedded
# SQLite default (./data/gatehouse.db). Settings: GATEHOUSE_* variables.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
exec build/gatehouse serve
