#!/usr/bin/env bash
# The audit hash chain on PostgreSQL with one and with two Gatehouse
# instances appending for the same tenant (docs/audit.md "Cost"): token
# issuance throughput (client_credentials, the refresh grant, and the
# authorization code flow, whose exchange appends token.issued) and, for
# contrast, an audited write (POST /scim/v2/Users without a password, one
# scim.user.created event per request), each from one instance and then
# from two on one database, with the load average read beside every figure.
# (client_credentials and refresh write no audit event on success: their
# rows show that; the code and SCIM rows show what the chain's
# serialisation costs.)
# Prints a table and writes it to bench/results/pg_chain.txt.
#
# Knobs (environment): BENCH_DURATION (seconds per run, default 8),
# BENCH_CONNS (connections in all, split over the instances, default 32),
# BENCH_SCIM_CONNS (the same for the SCIM runs, default 16), BENCH_WAIT_QUIET,
# BENCH_PG_CHAIN_CASES (a subset of "cc refresh code scim"), BENCH_BIN;
# GATEHOUSE_PG_FSYNC=on: the cluster flushes its commits (scripts/pg.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init pg_chain

DURATION=${BENCH_DURATION:-8}
CONNS=${BENCH_CONNS:-32}
SCIM_CONNS=${BENCH_SCIM_CONNS:-16}
ISSUER=http://localhost:8080 # one public URL for both, as behind a load balancer
REDIRECT=https://app.example.com/cb
REDIRECT_ENC=https%3A%2F%2Fapp.example.com%2Fcb
((CONNS % 2 == 0 && SCIM_CONNS % 2 == 0)) || die "BENCH_CONNS and BENCH_SCIM_CONNS must be even"

wait_quiet
say "starting a throwaway PostgreSQL cluster"
PGDIR=$WORK/pg
at_exit "bash '$ROOT/scripts/pg.sh' stop '$PGDIR'"
DB_URL=$(bash scripts/pg.sh start "$PGDIR") || die "scripts/pg.sh start failed"
PG_PIDS=()
pg_pids() { mapfile -t PG_PIDS < <(pid_tree "$(head -1 "$PGDIR/data/postmaster.pid")"); }
env GATEHOUSE_DATABASE="$DB_URL" GATEHOUSE_MASTER_KEY="$MASTER_KEY" GATEHOUSE_DATA_DIR="$WORK/data-migrate" \
    "$BIN" migrate >"$WORK/migrate.txt" 2>&1 || {
    cat "$WORK/migrate.txt" >&2
    die "gatehouse migrate failed"
}
GHENV=(GATEHOUSE_ISSUER="$ISSUER" GATEHOUSE_RATE_LIMITS=off)
start_gh a "$DB_URL" "${GHENV[@]}"
A=$PORT

register_resource "$A" '{"identifier":"https://api.bench.example","name":"Bench API","scopes":{"api.read":"Read"}}'
CC=$(register_client "$A" '{"client_name":"bench-service","grant_types":["client_credentials"],"scope":"api.read"}')
CC_BASIC="Authorization: Basic $(printf '%s:%s' "$(jq -r .client_id <<<"$CC")" "$(jq -r .client_secret <<<"$CC")" | base64 -w0)"
WEB=$(register_client "$A" "{\"client_name\":\"bench-web\",\"redirect_uris\":[\"$REDIRECT\"],\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"gatehouse_first_party\":true}")
WEB_ID=$(jq -r .client_id <<<"$WEB")
WEB_BASIC="Authorization: Basic $(printf '%s:%s' "$WEB_ID" "$(jq -r .client_secret <<<"$WEB")" | base64 -w0)"
FORM="Content-Type: application/x-www-form-urlencoded"
EMAIL=chain-user@example.com
PASSWORD=Quartz-chain-Meadow-3308
[[ $(scim_create "$A" "$EMAIL" "$PASSWORD") == 201 ]] || die "SCIM create failed"
session_csrf "$A"
signin=$(curl -sS -D "$WORK/signin-headers.txt" -H "Cookie: gh_pre=$PRE" -H "X-CSRF-Token: $CSRF" \
    -H 'Content-Type: application/json' --data "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$A/api/v1/signin")
[[ $signin == *'"signed_in"'* ]] || die "sign-in failed: $signin"
SESSION=$(sed -n 's/^[Ss]et-[Cc]ookie: *gh_session=\([^;]*\).*/\1/p' "$WORK/signin-headers.txt" | tr -d '\r' | head -1)
VERIFIER=$(rand_hex 32)
CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
AUTHZ="http://127.0.0.1:$A/authorize?client_id=$WEB_ID&redirect_uri=$REDIRECT_ENC&response_type=code&scope=openid%20offline_access&code_challenge=$CHALLENGE&code_challenge_method=S256&state=bench"

# refresh_tokens N FILE: N refresh tokens (each its own chain of rotations)
# from as many code flows of the signed-in user.
refresh_tokens() {
    local n=$1 file=$2 i loc c
    : >"$file"
    for ((i = 1; i <= n; i++)); do
        loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -H "Cookie: gh_session=$SESSION" "$AUTHZ")
        c=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc")
        [[ -n $c ]] || die "no code in the redirect: $loc"
        curl -sS -H "$WEB_BASIC" -H "$FORM" \
            --data "grant_type=authorization_code&code=$c&redirect_uri=$REDIRECT_ENC&code_verifier=$VERIFIER" \
            "http://127.0.0.1:$A/token" | jq -r '.refresh_token // empty' >>"$file"
    done
    (($(wc -l <"$file") == n)) || die "only $(wc -l <"$file") of $n code flows gave a refresh token"
}

declare -A RES
# run_set KEY CASE PORT...: one wrk per instance at once (connections and
# the two load threads split: -t2 for one instance, -t1 each for two, so
# the load generator is the same), req/s summed; the load average just
# before and after the run.
run_set() {
    local key=$1 kase=$2
    shift 2
    local ports=("$@") n=$# i out outs=() wpids=() conns args=() rps=0 errs="" thr=$((2 / $#))
    [[ $kase == scim ]] && conns=$((SCIM_CONNS / n)) || conns=$((CONNS / n))
    local load_before
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    say "$key: $n instance(s), wrk -t$thr -c$conns -d${DURATION}s each"
    pg_pids
    noise_begin "${LIVE_PIDS[@]}" "${PG_PIDS[@]}"
    for ((i = 0; i < n; i++)); do
        out=$WORK/wrk-$key-$i.txt
        case $kase in
        cc) args=(/token fixed.lua -H "$CC_BASIC" -H "$FORM" -- POST "grant_type=client_credentials&scope=api.read") ;;
        refresh) args=(/token refresh.lua -H "$WEB_BASIC" -H "$FORM" -- "$WORK/rt-$key-$i.txt" "$thr") ;;
        code) args=("/authorize?${AUTHZ#*\?}" code.lua -H "Cookie: gh_session=$SESSION" -H "$WEB_BASIC" -H "$FORM" --
            "/authorize?${AUTHZ#*\?}" "grant_type=authorization_code&redirect_uri=$REDIRECT_ENC&code_verifier=$VERIFIER&") ;;
        scim) args=(/scim/v2/Users scim_users.lua -H "Authorization: Bearer $TOKEN"
            -H "Content-Type: application/scim+json" -- "$key-$i-$(rand_hex 3)" nopassword) ;;
        esac
        wrk_start "$out" "${ports[$i]}" "${args[0]}" "$thr" "$conns" "$DURATION" "${args[@]:1}"
        wpids+=("$WPID")
        outs+=("$out")
    done
    for ((i = 0; i < n; i++)); do
        wrk_wait "${wpids[$i]}" "${outs[$i]}" "$key, instance $((i + 1)) of $n"
        # a code flow is two requests: count the complete flows
        local got
        [[ $kase == code ]] && got=$(kv "$BL" flows_per_s) || got=$(kv "$BL" rps)
        rps=$(awk -v a="$rps" -v b="$got" 'BEGIN {printf "%.0f", a + b}')
        errors_clean "$BL" || errs+="instance $((i + 1)): $(errors_of "$BL") $(kv "$BL" codes); "
    done
    noise_end
    RES[$key]="$rps|$load_before / $(cut -d' ' -f1 /proc/loadavg)|$NOISE%|${errs:-none}"
    check_servers "$key"
}

for kase in ${BENCH_PG_CHAIN_CASES:-cc refresh code scim}; do
    if [[ $kase == refresh ]]; then
        refresh_tokens $((CONNS + 4)) "$WORK/rt-$kase-1-0.txt"
        refresh_tokens $((CONNS / 2 + 2)) "$WORK/rt-$kase-2-0.txt"
        refresh_tokens $((CONNS / 2 + 2)) "$WORK/rt-$kase-2-1.txt"
    fi
    run_set "$kase-1" "$kase" "$A"
    start_gh b "$DB_URL" "${GHENV[@]}"
    run_set "$kase-2" "$kase" "$A" "$PORT"
    stop_gh b
done
EVENTS=$(PGCONNECT_TIMEOUT=10 /usr/lib/postgresql/15/bin/psql -X -q -A -t -d "$DB_URL" -c "SELECT count(*) FROM audit_events" 2>/dev/null || echo "?")
stop_gh a
collect_log_problems

row() { printf '  %-34s %9s %8s %16s %6s   %s\n' "$@"; }
label() {
    case $1 in
    cc) echo "POST /token client_credentials" ;;
    refresh) echo "POST /token refresh_token" ;;
    code) echo "code flows/s (authorize+exchange)" ;;
    scim) echo "POST /scim/v2/Users (audited)" ;;
    esac
}
{
    echo "Gatehouse audit chain on PostgreSQL, 1 and 2 instances  $RUN_DATE  commit $COMMIT"
    echo
    machine_lines
    echo "  The machine is shared and busy: 'load' is the 1-minute load average before / after each run,"
    echo "  'other' the CPU share taken by processes other than the servers, PostgreSQL and wrk."
    echo
    echo "PostgreSQL from scripts/pg.sh (same machine, fsync ${GATEHOUSE_PG_FSYNC:-off}); instances share the database, the master"
    echo "key and one tenant (default), so every audited write of both goes through the same chain head."
    echo "wrk -t2 for one instance, -t1 each for two, ${DURATION}s, -c$CONNS in all for /token, -c$SCIM_CONNS for SCIM; rate limits off."
    echo "Audit events in the database at the end: $EVENTS"
    echo
    row "" instances "req/s" "load" other errors
    for kase in ${BENCH_PG_CHAIN_CASES:-cc refresh code scim}; do
        for n in 1 2; do
            IFS='|' read -r rps load other errs <<<"${RES[$kase-$n]}"
            row "$(label "$kase")" "$n" "$rps" "$load" "$other" "$errs"
        done
    done
    echo
    print_problems
    echo "Raw wrk output: bench/results/pg_chain-raw.txt; run took $((SECONDS - T_START)) s"
} | tee "$RESULTS/pg_chain.txt"
