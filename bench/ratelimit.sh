#!/usr/bin/env bash
# Rate-limit benchmark (docs/rate-limits.md): client_credentials token
# issuance on /token with the rate limits off, and on with limits too high
# to refuse anything (so the figure is the cost of the check: address,
# network and client buckets, the client_id read from the request), on
# SQLite and, when a PostgreSQL URL is given, on PostgreSQL with the
# sharing thread running (on) and without it (local). The modes alternate,
# and each round starts with the next mode (off, on, local; then on, local,
# off; ...) so that none always runs first on a shared machine. Prints
# each round's figure and the median per mode, and writes the table to
# bench/results/ratelimit.txt.
#
# Knobs (environment): BENCH_DURATION (seconds per wrk run, default 8),
# BENCH_CONNS (default 16), BENCH_ROUNDS (off/on pairs, default 3),
# BENCH_PG_URL (a postgresql:// URL of a role that may create databases;
# one is made per run; unset: SQLite only).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init ratelimit

DURATION=${BENCH_DURATION:-8}
CONNS=${BENCH_CONNS:-16}
ROUNDS=${BENCH_ROUNDS:-3}
HIGH=(GATEHOUSE_RATE_LIMIT_TOKEN=1000000 GATEHOUSE_RATE_LIMIT_CLIENT=1000000)

# measure NAME DB ENV...: starts a server, registers a client, measures.
declare -A RPS
measure() {
    local name=$1 db=$2
    shift 2
    start_gh "$name" "$db" "$@"
    local port=$PORT pid=$PID
    register_resource "$port" "{\"identifier\":\"https://$name.bench.example\",\"name\":\"$name\",\"scopes\":{\"$name.read\":\"Read\"}}"
    local cc id secret
    cc=$(register_client "$port" "{\"client_name\":\"bench-rl\",\"grant_types\":[\"client_credentials\"],\"scope\":\"$name.read\"}")
    id=$(jq -r .client_id <<<"$cc")
    secret=$(jq -r .client_secret <<<"$cc")
    local basic
    basic="Authorization: Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
    wrk_start "$WORK/$name.txt" "$port" /token 1 "$CONNS" "$DURATION" fixed.lua \
        -H "$basic" -H 'Content-Type: application/x-www-form-urlencoded' \
        -- POST "grant_type=client_credentials&scope=$name.read"
    wrk_wait "$WPID" "$WORK/$name.txt" "$name"
    errors_clean "$BL" || PROBLEMS+=("$name: $(errors_of "$BL")")
    RPS[$name]=$(kv "$BL" rps)
    stop_gh "$name"
}

for backend in sqlite ${BENCH_PG_URL:+pg}; do
    modes=(off on)
    [[ $backend == pg ]] && modes+=(local)
    for ((i = 1; i <= ROUNDS; i++)); do
        for ((k = 0; k < ${#modes[@]}; k++)); do
            mode=${modes[$(((i - 1 + k) % ${#modes[@]}))]}
            name=$backend-$mode-$i
            if [[ $backend == sqlite ]]; then
                db=$WORK/$name.db
            else # a fresh database per run (each run has its own master key)
                dbname=ghrl_${name//-/_}_$$
                psql -q "$BENCH_PG_URL" -c "CREATE DATABASE $dbname" || die "cannot create $dbname"
                db=${BENCH_PG_URL%/*}/$dbname
            fi
            say "$name"
            if [[ $mode == off ]]; then
                measure "$name" "$db" GATEHOUSE_RATE_LIMITS=off
            elif [[ $mode == local ]]; then
                measure "$name" "$db" "${HIGH[@]}" GATEHOUSE_RATE_LIMIT_SYNC_MS=0
            else
                measure "$name" "$db" "${HIGH[@]}"
            fi
        done
    done
done

{
    echo "rate limits on /token (client_credentials), wrk -t1 -c$CONNS -d${DURATION}s, $NPROC cores, commit $COMMIT, $RUN_DATE"
    printf '%-10s %-5s %-8s %s\n' backend mode median "requests/s per round (round 1 first)"
    for backend in sqlite ${BENCH_PG_URL:+pg}; do
        for mode in off on ${BENCH_PG_URL:+local}; do
            [[ $backend == sqlite && $mode == local ]] && continue
            line=""
            for ((i = 1; i <= ROUNDS; i++)); do line+=" ${RPS[$backend-$mode-$i]}"; done
            med=$(tr ' ' '\n' <<<"$line" | grep . | sort -n |
                awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2)}')
            printf '%-10s %-5s %-8s%s\n' "$backend" "$mode" "$med" "$line"
        done
    done
    print_problems
} | tee "$RESULTS/ratelimit.txt"
