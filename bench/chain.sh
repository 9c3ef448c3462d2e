#!/usr/bin/env bash
# What the tamper-evident audit chain costs on the token endpoint: the
# client_credentials grant, the refresh grant and the authorization code
# flow (whose exchange appends token.issued to the chain), measured by
# bench/oidc.sh against two binaries built from the commits on either side
# of the chain's merge:
#   without the chain  0f695f1 (main before the audit chain, with /metrics)
#   with the chain     3ad36a1 (the merge that added the chain, nothing else)
# and, for the present, build/gatehouse of this tree. The runs alternate
# so all see the same machine, and each round starts with the next binary
# (without, with, now; then with, now, without; ...) so none always runs
# first; the table gives each run and the median per binary. See
# bench/README.md.
#
# Each round runs on SQLite and on PostgreSQL (a throwaway cluster from
# scripts/pg.sh, fsync off unless BENCH_CHAIN_FSYNC=1, a fresh database per
# run).
# Knobs (environment): BENCH_CHAIN_ROUNDS (alternations, default 2),
# BENCH_DURATION (seconds per wrk run, default 5), BENCH_CHAIN_NOW (1: also
# run build/gatehouse of this tree once per round; default 1),
# BENCH_CHAIN_PG (0: SQLite only; default 1), BENCH_CHAIN_SQLITE (0:
# PostgreSQL only; default 1), BENCH_CHAIN_FSYNC (1: the PostgreSQL cluster
# flushes its commits, fsync and synchronous_commit on; default 0),
# BENCH_CHAIN_ALSO (more binaries, "LABEL=COMMIT ...", e.g.
# "request=75ec515" for the chain written in the request just before the
# sealer), BENCH_CHAIN_ONLY (the bench/oidc.sh cases, a subset of "cc
# refresh code"; default all three).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
ROUNDS=${BENCH_CHAIN_ROUNDS:-2}
NOW=${BENCH_CHAIN_NOW:-1}
PG=${BENCH_CHAIN_PG:-1}
SQLITE=${BENCH_CHAIN_SQLITE:-1}
FSYNC=${BENCH_CHAIN_FSYNC:-0}
FSYNC_WORDS="fsync off"
((FSYNC)) && FSYNC_WORDS="fsync and synchronous_commit on"
export BENCH_DURATION=${BENCH_DURATION:-5}
export BENCH_ONLY=${BENCH_CHAIN_ONLY:-cc refresh code}
export BENCH_SIG_SECONDS=1
BEFORE=0f695f1
AFTER=3ad36a1

say() { echo "chain: $*" >&2; }
die() {
    echo "chain: $*" >&2
    exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-chain.XXXXXX")
chmod 755 "$WORK" # the postgres user must reach the cluster made inside it
cleanup() {
    local w
    [[ -d $WORK/pg ]] && bash scripts/pg.sh stop "$WORK/pg" >/dev/null 2>&1
    for w in "$WORK"/src-*; do
        [[ -d $w ]] && git worktree remove --force "$w" >/dev/null 2>&1
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# build_at COMMIT: a release build of COMMIT in a worktree of its own;
# prints the binary's path.
build_at() {
    local commit=$1 dir=$WORK/src-$1
    git cat-file -e "$commit^{commit}" 2>/dev/null || die "commit $commit is not in this clone"
    git worktree add --detach -q "$dir" "$commit" || die "cannot check out $commit"
    say "building $commit (a few minutes)"
    (cd "$dir" && meson setup build --buildtype=debugoptimized -Dtests=disabled >"$WORK/setup-$commit.log" 2>&1 &&
        ninja -C build gatehouse >"$WORK/build-$commit.log" 2>&1) ||
        die "build of $commit failed: $(tail -5 "$WORK/build-$commit.log" 2>/dev/null)"
    echo "$dir/build/gatehouse"
}

[[ -x build/gatehouse ]] || bash scripts/build.sh >/dev/null
cp build/gatehouse "$WORK/gatehouse-now"
declare -A BINS=([now]=$WORK/gatehouse-now)
BINS[without]=$(build_at $BEFORE) || exit 1
BINS[with]=$(build_at $AFTER) || exit 1
LABELS=(without with)
for pair in ${BENCH_CHAIN_ALSO:-}; do
    [[ $pair =~ ^[a-z]+=[0-9a-f]{7,40}$ ]] || die "BENCH_CHAIN_ALSO: not LABEL=COMMIT: $pair"
    BINS[${pair%%=*}]=$(build_at "${pair#*=}") || exit 1
    LABELS+=("${pair%%=*}")
done
((NOW)) && LABELS+=(now)

BACKENDS=()
((SQLITE)) && BACKENDS+=(sqlite)
if ((PG)); then
    pg_fsync=off
    ((FSYNC)) && pg_fsync=on
    PG_URL=$(GATEHOUSE_PG_FSYNC=$pg_fsync bash scripts/pg.sh start "$WORK/pg" | tail -1) ||
        die "scripts/pg.sh start failed"
    BACKENDS+=(pg)
fi
((${#BACKENDS[@]})) || die "BENCH_CHAIN_SQLITE=0 and BENCH_CHAIN_PG=0 leave nothing to run"

# one BACKEND LABEL ROUND: bench/oidc.sh against that binary; keeps its table.
one() {
    local backend=$1 label=$2 round=$3 out=$RESULTS/chain-$1-$2-$3.txt url=
    [[ $backend == pg ]] && url=$PG_URL
    say "round $round: $backend $label"
    BENCH_PG_URL=$url BENCH_BIN=${BINS[$label]} bash bench/oidc.sh >/dev/null 2>"$WORK/oidc-$backend-$label-$round.err" ||
        die "bench/oidc.sh failed for $backend $label: $(tail -5 "$WORK/oidc-$backend-$label-$round.err")"
    cp "$RESULTS/oidc.txt" "$out"
}

# figure FILE LABEL-PREFIX: the req/s column of a row of an oidc.sh table.
figure() {
    awk -v l="$2" 'index($0, "  " l) == 1 { sub("^  " l " *", ""); print $1; exit }' "$1"
}
flows() {
    sed -n 's/^  flows: \([0-9.]*\)\/s at the peak.*/\1/p' "$1" | head -1
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
    for backend in "${BACKENDS[@]}"; do
        n=${#LABELS[@]}
        for ((k = 0; k < n; k++)); do one "$backend" "${LABELS[$(((r - 1 + k) % n))]}" "$r"; done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -n | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
{
    echo "Gatehouse audit chain on the token endpoint  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
    echo "without: $BEFORE   with: $AFTER   ${BENCH_CHAIN_ALSO:+$BENCH_CHAIN_ALSO   }now: build/gatehouse of $(git rev-parse --short HEAD)"
    echo "bench/oidc.sh, rate limits off, ${BENCH_DURATION}s per wrk run, $ROUNDS rounds alternating, each round starting with the next binary;"
    echo "load average before / after: $LOAD_BEFORE / $LOAD_AFTER"
    for backend in "${BACKENDS[@]}"; do
        echo
        [[ $backend == pg ]] && echo "PostgreSQL 15 (scripts/pg.sh, $FSYNC_WORDS, same machine)" || echo "SQLite"
        printf '  %-9s %-34s %-34s %-34s\n' "" "client_credentials req/s" "refresh_token req/s" "code flows/s (authorize+exchange)"
        for label in "${LABELS[@]}"; do
            cc=() rt=() cf=()
            for ((r = 1; r <= ROUNDS; r++)); do
                f=$RESULTS/chain-$backend-$label-$r.txt
                cc+=("$(figure "$f" "POST /token client_credentials")")
                rt+=("$(figure "$f" "POST /token refresh_token")")
                cf+=("$(flows "$f")")
            done
            printf '  %-9s %-34s %-34s %-34s\n' "$label" \
                "$(printf '%s\n' "${cc[@]}" | median) (${cc[*]})" \
                "$(printf '%s\n' "${rt[@]}" | median) (${rt[*]})" \
                "$(printf '%s\n' "${cf[@]}" | median) (${cf[*]})"
        done
    done
    echo
    echo "  median (each round's figure); each run's full table: bench/results/chain-BACKEND-LABEL-ROUND.txt"
} | tee "$RESULTS/chain.txt"
