#!/usr/bin/env bash
# Configures (once) and builds build/gatehouse.
#   scripts/build.sh           the server; the unit tests too when cmocka is present
#   scripts/build.sh --tests   the server and the unit tests (cmocka must be present)
set -euo pipefail
cd "$(dirname "$0")/.."
tests=auto
[ "${1:-}" = "--tests" ] && tests=enabled
if [ -f build/build.ninja ]; then
  # A tree set up by start.sh (tests=auto) is switched on demand, not rebuilt.
  [ "$tests" = auto ] || meson configure build -Dtests="$tests" >/dev/null
else
  meson setup build --buildtype=debugoptimized -Dtests="$tests" >/dev/null
fi
ninja -C build
