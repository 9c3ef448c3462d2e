#!/usr/bin/env bash
# PostgreSQL benchmark: sign-in and token issuance (client_credentials)
# throughput and p99 with 1 and with 2 Gatehouse instances on one database,
# at 10,000 and at 1,000,000 users, so the cost of growth is visible; and the
# token run on SQLite for comparison. Users are generated directly in SQL.
# Prints a table and writes it to bench/results/pg.txt. See bench/README.md.
#
# Knobs (environment): BENCH_DURATION (seconds per token run, default 8),
# BENCH_SIGNIN_DURATION (seconds per sign-in run, default 10),
# BENCH_SMALL (default 10000) and BENCH_LARGE (default 1000000) users,
# BENCH_CONNS (token connections in all, default 64), BENCH_SIGNIN_CONNS
# (sign-in connections in all, default 4 per core), BENCH_WAIT_QUIET.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init pg

DURATION=${BENCH_DURATION:-8}
SI_DURATION=${BENCH_SIGNIN_DURATION:-10}
SMALL=${BENCH_SMALL:-10000}
LARGE=${BENCH_LARGE:-1000000}
CONNS=${BENCH_CONNS:-64}
SI_CONNS=${BENCH_SIGNIN_CONNS:-$((4 * NPROC))}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
# Every generated user has this password (one argon2id hash, computed once
# by the server for a SCIM-created reference user, is copied to all).
PASSWORD=Quartz-pg-Meadow-5150
# One public URL for every instance, as behind a load balancer.
ISSUER=http://localhost:8080
((SMALL >= 2 && LARGE > SMALL)) || die "need 2 <= BENCH_SMALL < BENCH_LARGE"
((CONNS % 2 == 0 && SI_CONNS % 2 == 0)) || die "BENCH_CONNS and BENCH_SIGNIN_CONNS must be even (split over 2 instances)"
[[ -x $PGBIN/psql && -x $PGBIN/initdb ]] || die "PostgreSQL 15 is not installed ($PGBIN)"

wait_quiet
IDLE_BEFORE=$(cpu_idle_pct)

# ---------------------------------------------------------------- database

say "starting a throwaway PostgreSQL cluster"
PGDIR=$WORK/pg
at_exit "bash '$ROOT/scripts/pg.sh' stop '$PGDIR'"
DB_URL=$(bash scripts/pg.sh start "$PGDIR") || die "scripts/pg.sh start failed"
PG_PIDS=()
pg_pids() { mapfile -t PG_PIDS < <(pid_tree "$(head -1 "$PGDIR/data/postmaster.pid")"); }
psql_q() { PGCONNECT_TIMEOUT=10 "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB_URL" "$@"; }
PG_VERSION=$(psql_q -c 'SHOW server_version')

T0=$(now_us)
env GATEHOUSE_DATABASE="$DB_URL" GATEHOUSE_MASTER_KEY="$MASTER_KEY" GATEHOUSE_DATA_DIR="$WORK/data-migrate" \
    "$BIN" migrate >"$WORK/migrate.txt" 2>&1 || {
    cat "$WORK/migrate.txt" >&2
    die "gatehouse migrate failed"
}
MIGRATE_MS=$((($(now_us) - T0) / 1000))

PGENV=(GATEHOUSE_ISSUER="$ISSUER")
start_gh a "$DB_URL" "${PGENV[@]}"
A=$PORT

# The reference user: its argon2id PHC string becomes every user's.
code=$(scim_create "$A" "pg-ref@example.com" "$PASSWORD")
[[ $code == 201 ]] || die "SCIM create of the reference user answered $code"
PHC=$(psql_q -c "SELECT c.data FROM credentials c JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id WHERE u.username = 'pg-ref@example.com' AND c.type = 'password'")
[[ $PHC == '$argon2id$'* ]] || die "no argon2id hash for the reference user: $PHC"

register_resource "$A" '{"identifier":"https://api.bench.example","name":"Bench API","scopes":{"api.read":"Read"}}'
CC=$(register_client "$A" '{"client_name":"bench-service","grant_types":["client_credentials"],"scope":"api.read"}')
CC_BASIC="Authorization: Basic $(printf '%s:%s' "$(jq -r .client_id <<<"$CC")" "$(jq -r .client_secret <<<"$CC")" | base64 -w0)"
FORM="Content-Type: application/x-www-form-urlencoded"
stop_gh a

# gen_users FROM TO: users pgu-FROM..pgu-TO@example.com (verified, active)
# with the shared password hash, in NPROC parallel slices, one statement
# each (users and credentials together); then VACUUM (ANALYZE) and CHECKPOINT.
gen_users() {
    local from=$1 to=$2 n slices=$NPROC i lo hi pids=()
    n=$((to - from + 1))
    for ((i = 0; i < slices; i++)); do
        lo=$((from + n * i / slices))
        hi=$((from + n * (i + 1) / slices - 1))
        psql_q -v lo="$lo" -v hi="$hi" -v phc="$PHC" >"$WORK/gen-$i.txt" 2>&1 <<'SQL' &
WITH now_ms AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS t),
u AS (
  INSERT INTO users (tenant_id, id, username, email, email_verified, status,
                     given_name, family_name, profile, version, created_at, updated_at)
  SELECT 'default', gen_random_uuid()::text, 'pgu-' || g || '@example.com', 'pgu-' || g || '@example.com',
         1, 'active', 'Bench', 'User ' || g, '{}', 1, now_ms.t, now_ms.t
  FROM generate_series(:lo, :hi) AS g, now_ms
  RETURNING id, created_at)
INSERT INTO credentials (tenant_id, id, user_id, type, data, created_at)
SELECT 'default', gen_random_uuid()::text, u.id, 'password', :'phc', u.created_at FROM u;
SQL
        pids+=($!)
    done
    local rc=0 p
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    ((rc == 0)) || {
        cat "$WORK"/gen-*.txt >&2
        die "generating users $from..$to failed"
    }
    # VACUUM and CHECKPOINT now, so that autovacuum (which a million fresh
    # inserts trigger) and the flush of ~1 GB of dirty pages do not land
    # inside the measured runs: the runs measure steady state.
    psql_q -c 'VACUUM (ANALYZE) users' >/dev/null
    psql_q -c 'VACUUM (ANALYZE) credentials' >/dev/null
    psql_q -c 'CHECKPOINT' >/dev/null
}

say "generating users 1..$((SMALL - 1)) in SQL (plus the reference user: $SMALL)"
T0=$(now_us)
gen_users 1 $((SMALL - 1))
GEN_SMALL_S=$(awk -v u=$(($(now_us) - T0)) 'BEGIN {printf "%.1f", u / 1e6}')

# ---------------------------------------------------------------- runs

declare -A RES # key -> "rps p50_us p99_us errors|noise"
SIGNIN_HDRS=()

# run_set KEY KIND PORT...: one wrk per instance at once, connections split
# evenly; sums req/s and merges the latency distributions. KIND token|signin.
run_set() {
    local key=$1 kind=$2
    shift 2
    local ports=("$@") n=$# conns dur thr out outs=() wpids=() i
    if [[ $kind == token ]]; then conns=$((CONNS / n)) dur=$DURATION; else conns=$((SI_CONNS / n)) dur=$SI_DURATION; fi
    thr=$((2 / n))
    ((thr >= 1)) || thr=1
    say "$key: $n instance(s), wrk -t$thr -c$conns -d${dur}s each"
    noise_begin "${LIVE_PIDS[@]}" "${PG_PIDS[@]}"
    export BENCH_QUANTILES=1
    for ((i = 0; i < n; i++)); do
        out=$WORK/wrk-$key-$i.txt
        if [[ $kind == token ]]; then
            wrk_start "$out" "${ports[$i]}" /token "$thr" "$conns" "$dur" fixed.lua \
                -H "$CC_BASIC" -H "$FORM" -- POST "grant_type=client_credentials&scope=api.read"
        else
            wrk_start "$out" "${ports[$i]}" /api/v1/signin "$thr" "$conns" "$dur" signin.lua \
                "${SIGNIN_HDRS[@]}" -- "pgu-%d@example.com" "$NUSERS_GEN" "$PASSWORD" rand "$thr"
        fi
        wpids+=("$WPID")
        outs+=("$out")
    done
    unset BENCH_QUANTILES
    local rps=0 errs="" e bl codes="" samples="" max=0
    for ((i = 0; i < n; i++)); do
        wrk_wait "${wpids[$i]}" "${outs[$i]}" "$key, instance $((i + 1)) of $n (t$thr c$conns)"
        bl=$BL
        rps=$(awk -v a="$rps" -v b="$(kv "$bl" rps)" 'BEGIN {printf "%.1f", a + b}')
        (($(kv "$bl" max_us) > max)) && max=$(kv "$bl" max_us)
        e=$(errors_of "$bl")
        [[ $e == "non-2xx 0, sock 0, timeout 0" ]] || errs+="instance $((i + 1)): $e; "
        [[ -z $(kv "$bl" codes) || $(kv "$bl" codes) == - ]] || codes+="$(kv "$bl" codes) "
        [[ -z $BSAMPLE ]] || samples=$BSAMPLE
        [[ -z $(kv "$bl" not_signed_in) || $(kv "$bl" not_signed_in) == 0 ]] ||
            errs+="instance $((i + 1)): $(kv "$bl" not_signed_in) answers 200 but not signed_in; "
    done
    noise_end
    local p50 p99
    p50=$(merge_pct 50 "${outs[@]}")
    p99=$(merge_pct 99 "${outs[@]}")
    if ((n == 1)); then # wrk's own figures for a single run
        p50=$(kv "$bl" p50_us)
        p99=$(kv "$bl" p99_us)
    fi
    RES[$key]="$rps $p50 $p99 $NOISE $max"
    if [[ $kind == token ]] && ((max >= 1000000)); then
        STALLS+=("$key: slowest response $(ms_from_us "$max") ms")
    fi
    RES_ERR[$key]=${errs:-none}
    [[ -z $errs ]] || PROBLEMS+=("$key: $errs${codes:+by status: $codes}${samples:+; first body: $samples}")
    check_servers "$key"
}
declare -A RES_ERR
STALLS=()

# phase LABEL: 1 instance then 2 instances, token then sign-in.
phase() {
    local label=$1
    start_gh a "$DB_URL" "${PGENV[@]}"
    A=$PORT
    pg_pids
    session_csrf "$A" # the same master key: B accepts A's cookie and token
    SIGNIN_HDRS=(-H "Cookie: gh_pre=$PRE" -H "X-CSRF-Token: $CSRF" -H "Content-Type: application/json")
    local probe
    probe=$(curl -sS "${SIGNIN_HDRS[@]}" --data "{\"email\":\"pgu-1@example.com\",\"password\":\"$PASSWORD\"}" \
        "http://127.0.0.1:$A/api/v1/signin")
    [[ $probe == *'"signed_in"'* ]] || die "probe sign-in of a generated user failed: $probe"
    run_set "token-$label-1" token "$A"
    run_set "signin-$label-1" signin "$A"
    start_gh b "$DB_URL" "${PGENV[@]}"
    B=$PORT
    pg_pids
    run_set "token-$label-2" token "$A" "$B"
    run_set "signin-$label-2" signin "$A" "$B"
    HWM[$label]="$(mib "$(status_kib "${SERVER_PID[a]}" VmHWM)") / $(mib "$(status_kib "${SERVER_PID[b]}" VmHWM)")"
    stop_gh b
    stop_gh a
}
declare -A HWM

NUSERS_GEN=$((SMALL - 1))
phase small
SIZE_SMALL=$(psql_q -c "SELECT pg_size_pretty(pg_database_size(current_database()))")

say "growing to $LARGE users in SQL"
T0=$(now_us)
gen_users "$SMALL" $((LARGE - 1))
GEN_LARGE_S=$(awk -v u=$(($(now_us) - T0)) 'BEGIN {printf "%.1f", u / 1e6}')
NUSERS_GEN=$((LARGE - 1))
COUNT_LARGE=$(psql_q -c "SELECT count(*) FROM users")
SIZE_LARGE=$(psql_q -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
SIZE_USERS=$(psql_q -c "SELECT pg_size_pretty(pg_total_relation_size('users')) || ' users, ' || pg_size_pretty(pg_total_relation_size('credentials')) || ' credentials'")
phase large

# SQLite, for comparison: the same token run on one instance.
start_gh sqlite "$WORK/data-sqlite/gatehouse.db"
S=$PORT
register_resource "$S" '{"identifier":"https://api.bench.example","name":"Bench API","scopes":{"api.read":"Read"}}'
CC=$(register_client "$S" '{"client_name":"bench-service","grant_types":["client_credentials"],"scope":"api.read"}')
CC_BASIC="Authorization: Basic $(printf '%s:%s' "$(jq -r .client_id <<<"$CC")" "$(jq -r .client_secret <<<"$CC")" | base64 -w0)"
PG_PIDS=()
run_set "token-sqlite-1" token "$S"
stop_gh sqlite
collect_log_problems

# ---------------------------------------------------------------- report

f() { # FIELD KEY: rps | p50 | p99 | noise
    local v
    read -r -a v <<<"${RES[$2]}"
    case $1 in
    rps) echo "${v[0]}" ;;
    p50) ms_from_us "${v[1]}" ;;
    p99) ms_from_us "${v[2]}" ;;
    noise) echo "${v[3]}%" ;;
    max) ms_from_us "${v[4]}" ;;
    esac
}
human() { awk -v n="$1" 'BEGIN {if (n >= 1e6) printf "%gM", n / 1e6; else if (n >= 1e3) printf "%gk", n / 1e3; else print n}'; }
row() { printf '  %-22s %6s %9s %9s %8s %8s %9s %6s   %s\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
{
    echo "Gatehouse PostgreSQL benchmark  $RUN_DATE  commit $COMMIT"
    echo
    echo "Machine"
    machine_lines
    printf '  %-32s %s%%\n' "CPU idle in 1 s before start" "$IDLE_BEFORE"
    awk -v i="$IDLE_BEFORE" 'BEGIN {if (i < 80) print "  WARNING: the CPUs were already busy when the run started; figures are noisy"}'
    echo
    echo "Database: PostgreSQL $PG_VERSION from scripts/pg.sh (same machine, fsync ${GATEHOUSE_PG_FSYNC:-off}), default pool"
    echo "(threads + workers + 1 connections per instance); instances share the database and master key"
    printf '  %-32s %s ms\n' "gatehouse migrate (empty db)" "$MIGRATE_MS"
    printf '  %-32s %s s (%s users, %s in parallel slices)\n' "generate $(human "$SMALL") users in SQL" "$GEN_SMALL_S" "$((SMALL - 1))" "$NPROC"
    printf '  %-32s %s s (%s more users + VACUUM, CHECKPOINT)\n' "grow to $(human "$LARGE") users in SQL" "$GEN_LARGE_S" "$((LARGE - SMALL))"
    printf '  %-32s %s at %s users, %s at %s users (count: %s; %s)\n' "database size" "$SIZE_SMALL" "$(human "$SMALL")" \
        "$SIZE_LARGE" "$(human "$LARGE")" "$COUNT_LARGE" "$SIZE_USERS"
    echo
    echo "Load: wrk on the same $NPROC cores; with 2 instances one wrk per instance at once (connections"
    echo "split), req/s summed, p50/p99 from the merged latency distributions; latency in ms."
    echo "token = POST /token client_credentials (-c$CONNS in all, ${DURATION}s); sign-in = POST /api/v1/signin"
    echo "for random generated users, right password (-c$SI_CONNS in all, ${SI_DURATION}s)."
    echo "'other' = CPU share taken by processes other than the servers, PostgreSQL and wrk."
    row "" users instances "req/s" p50 p99 max other errors
    for w in token signin; do
        for s in small large; do
            for n in 1 2; do
                k=$w-$s-$n
                [[ $s == small ]] && u=$SMALL || u=$LARGE
                row "$([[ $w == token ]] && echo "token (PostgreSQL)" || echo "sign-in (PostgreSQL)")" "$(human "$u")" "$n" \
                    "$(f rps "$k")" "$(f p50 "$k")" "$(f p99 "$k")" "$(f max "$k")" "$(f noise "$k")" "${RES_ERR[$k]}"
            done
        done
    done
    row "token (SQLite)" "-" 1 "$(f rps token-sqlite-1)" "$(f p50 token-sqlite-1)" "$(f p99 token-sqlite-1)" \
        "$(f max token-sqlite-1)" "$(f noise token-sqlite-1)" "${RES_ERR[token-sqlite-1]}"
    echo
    echo "Cost of growth ($(human "$LARGE") vs $(human "$SMALL") users)"
    for w in token signin; do
        for n in 1 2; do
            printf '  %-40s req/s x%s, p99 x%s\n' "$w, $n instance(s)" \
                "$(ratio "$(f rps "$w-large-$n")" "$(f rps "$w-small-$n")")" \
                "$(ratio "$(f p99 "$w-large-$n")" "$(f p99 "$w-small-$n")")"
        done
    done
    printf '  %-40s %s\n' "peak RSS a / b (MiB), $(human "$SMALL") users" "${HWM[small]}"
    printf '  %-40s %s\n' "peak RSS a / b (MiB), $(human "$LARGE") users" "${HWM[large]}"
    echo
    echo "Target: p99 of a token request at $(human "$LARGE") users within 1.5x of that at $(human "$SMALL")"
    for n in 1 2; do
        r=$(ratio "$(f p99 "token-large-$n")" "$(f p99 "token-small-$n")")
        if lt "$r" 1.5 || [[ $r == 1.50 ]]; then v=met; else v=MISSED; fi
        if [[ " ${STALLS[*]} " == *" token-small-$n:"* || " ${STALLS[*]} " == *" token-large-$n:"* ]]; then
            v="$v, but INCONCLUSIVE: a stall (see below) decides this p99"
        fi
        printf '  %-58s %s\n' "$n instance(s): $(f p99 "token-large-$n") ms vs $(f p99 "token-small-$n") ms = x$r" "$v"
    done
    echo "  (client_credentials reads its client row at most once a second (the client cache) and"
    echo "   writes nothing: it never touches the users table, so this target measures the database's"
    echo "   size, not a user lookup; sign-in does both)"
    echo
    if ((${#STALLS[@]})); then
        echo "Stalls (a token response took 1 s or more; wrk's coordinated-omission correction then"
        echo "fills in the requests a steady client would have sent meanwhile, which dominates p99):"
        for x in "${STALLS[@]}"; do echo "  - $x"; done
        echo
    fi
    print_problems
    echo
    echo "Raw wrk output: bench/results/pg-raw.txt; run took $((SECONDS - T_START)) s"
} | tee "$RESULTS/pg.txt"
