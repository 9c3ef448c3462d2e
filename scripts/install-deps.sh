#!/usr/bin/env bash
# Installs what Gatehouse needs on Debian 12, and nothing when all is present.
#   scripts/install-deps.sh          build and run the server
#   scripts/install-deps.sh --example  also Node and its packages (the quickstart's example app)
#   scripts/install-deps.sh --test   also the test tools (sanitizers, Node packages, sqlite3 CLI,
#                                    the Debian packaging tools of scripts/package.sh,
#                                    Prometheus for tests/e2e/metrics.test.mjs, the MaxMind DB
#                                    writer for tests/e2e/risk.geoip.test.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_pkgs=(
  gcc meson ninja-build pkg-config
  libmicrohttpd-dev libjansson-dev libsodium-dev libargon2-dev libssl-dev libsqlite3-dev libpq-dev
  libcurl4-openssl-dev libcjose-dev liboath-dev libcbor-dev libqrencode-dev libunistring-dev
  libmaxminddb-dev
)
test_pkgs=(
  libcmocka-dev clang clang-format sqlite3 curl nodejs npm
  libclang-rt-14-dev wrk chromium oathtool
  postgresql-15 postgresql-client-15
  dpkg-dev debhelper lintian
  prometheus
  libmaxmind-db-writer-perl
)

want=("${runtime_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
  want+=("${test_pkgs[@]}")
elif [ "${1:-}" = "--example" ]; then
  want+=(curl nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  # A command from elsewhere (e.g. a newer Node) counts as present.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--example" ]; then
  # npm ci only when the lock file changed since the last install.
  stamp=node_modules/.gatehouse-lock-sha
  sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    mkdir -p node_modules
    echo "$sum" > "$stamp"
  fi
fi
