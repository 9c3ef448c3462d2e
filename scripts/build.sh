#!/usr/bin/env bash
# Configures (once) and builds build/gatehouse.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized >/dev/null
ninja -C build
