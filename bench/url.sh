#!/usr/bin/env bash
# URL checks: ns per call of gh_url_safe_return and gh_client_redirect_uri_valid
# (bench/url_rate.c), built from this tree and, when REV is given, from the
# src/ of that git revision too, run in turn (old, new, old, new) so drift on
# a shared machine shows. Used to compare the hand-written URL readers with
# libcurl's URL API (ARCHITECTURE.md, Dependencies).
#
#   bash bench/url.sh [REV]
#
# Knobs (environment): BENCH_URL_RUNS (runs per case, median printed; 9),
# BENCH_URL_MS (milliseconds per run; 100), BENCH_URL_ROUNDS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REV=${1:-}
RUNS=${BENCH_URL_RUNS:-9}
MS=${BENCH_URL_MS:-100}
ROUNDS=${BENCH_URL_ROUNDS:-2}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench-url.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# build DIR OUT: url_rate against the sources under DIR/src
build() {
    local src=$1/src
    cc -O2 -I"$src/base" -I"$src/proto" "$ROOT/bench/url_rate.c" "$src/base/gh_url.c" \
        "$src/base/gh_arena.c" "$src/base/gh_crypto.c" "$src/base/gh_utf8.c" \
        "$src/proto/gh_assurance.c" "$src/proto/gh_client_meta.c" -o "$2" \
        -ljansson -lunistring -lsodium -lcurl ||
        { echo "bench: cannot compile bench/url_rate.c against $1" >&2; exit 1; }
}

build "$ROOT" "$WORK/url_rate_new"
if [[ -n $REV ]]; then
    mkdir "$WORK/old"
    git archive "$REV" src | tar -x -C "$WORK/old"
    build "$WORK/old" "$WORK/url_rate_old"
fi
echo "# curl $(curl-config --version 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= ROUNDS; i++)); do
    if [[ -n $REV ]]; then
        echo "## $REV (round $i)"
        "$WORK/url_rate_old" "$RUNS" "$MS"
    fi
    echo "## this tree (round $i)"
    "$WORK/url_rate_new" "$RUNS" "$MS"
done
