#!/usr/bin/env bash
# Tenants benchmark (docs/tenants.md): client_credentials token throughput
# with one tenant, then with BENCH_TENANTS more (default 1,000), in the
# default tenant and in one of the new tenants (reached by /t/{id}): the
# tenant resolution and the per-tenant key look-up must cost under 5%.
# Also prints what creating a tenant costs (its two signing keys) and the
# server's RSS with the tenants loaded. Writes bench/results/tenants.txt.
#
# Knobs (environment): BENCH_DURATION (seconds per wrk run, default 8),
# BENCH_CONNS (default 32), BENCH_TENANTS (default 1000), BENCH_ROUNDS
# (runs per measurement, alternating, default 3).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init tenants

DURATION=${BENCH_DURATION:-8}
CONNS=${BENCH_CONNS:-32}
NTENANTS=${BENCH_TENANTS:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
FORM="Content-Type: application/x-www-form-urlencoded"

wait_quiet
# the rate limits would cap one client at GATEHOUSE_RATE_LIMIT_TOKEN a minute:
# this measures the tenants, not the limits
start_gh main "$WORK/data-main/gatehouse.db" GATEHOUSE_RATE_LIMITS=off
MAIN=$PORT
MAIN_PID=$PID
U=http://127.0.0.1:$MAIN

# A client_credentials client in the tenant at PREFIX ("" or /t/ID): prints
# its Basic header.
cc_client() {
    local prefix=$1 out id secret
    out=$(curl -sS -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data '{"client_name":"bench","grant_types":["client_credentials"]}' "$U$prefix/register")
    id=$(jq -r .client_id <<<"$out")
    secret=$(jq -r .client_secret <<<"$out")
    [[ $id != null && -n $id ]] || die "register at $prefix failed: $out"
    printf 'Authorization: Basic %s' "$(printf '%s:%s' "$id" "$secret" | base64 -w0)"
}

# token_rps PREFIX BASIC LABEL: one wrk run against PREFIX/token; sets RPS, P50, P99.
token_rps() {
    local out=$WORK/wrk-$RANDOM.txt
    wrk_start "$out" "$MAIN" "$1/token" 2 "$CONNS" "$DURATION" fixed.lua -H "$2" -H "$FORM" -- POST "grant_type=client_credentials"
    wrk_wait "$WPID" "$out" "$3"
    server_alive main "$3"
    errors_clean "$BL" || die "$3: $(errors_of "$BL")${BSAMPLE:+; first body: $BSAMPLE}"
    RPS=$(kv "$BL" rps)
    P50=$(ms_from_us "$(kv "$BL" p50_us)")
    P99=$(ms_from_us "$(kv "$BL" p99_us)")
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

DEFAULT_BASIC=$(cc_client "")
say "one tenant: $ROUNDS runs of ${DURATION}s"
one=()
for ((i = 0; i < ROUNDS; i++)); do
    token_rps "" "$DEFAULT_BASIC" "one tenant, run $i"
    one+=("$RPS")
    ONE_P="$P50/$P99"
done
RSS_ONE=$(status_kib "$MAIN_PID" VmRSS)

say "creating $NTENANTS tenants (4 at a time)"
t0=$(now_us)
seq 1 "$NTENANTS" | xargs -P4 -I{} sh -c \
    "curl -sS -o /dev/null -w '%{http_code}\n' -X POST -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' \
     --data '{\"id\":\"t{}\",\"display_name\":\"Tenant {}\"}' '$U/admin/v1/tenants'" >"$WORK/create.txt"
t1=$(now_us)
made=$(grep -c '^201$' "$WORK/create.txt" || true)
((made == NTENANTS)) || die "only $made of $NTENANTS tenants were created: $(sort "$WORK/create.txt" | uniq -c | tr '\n' ' ')"
CREATE_MS=$(awk -v a="$t0" -v b="$t1" -v n="$NTENANTS" 'BEGIN {printf "%.1f", (b - a) / 1000 / n * 4}')
KEYS=$(curl -sS "$U/t/t$NTENANTS/jwks" | jq '.keys | length')
RSS_MANY=$(status_kib "$MAIN_PID" VmRSS)

MID=$((NTENANTS / 2))
TENANT_BASIC=$(cc_client "/t/t$MID")
say "$NTENANTS tenants: $ROUNDS runs each, default and /t/t$MID alternating"
many=()
inner=()
for ((i = 0; i < ROUNDS; i++)); do
    token_rps "" "$DEFAULT_BASIC" "$NTENANTS tenants, default tenant, run $i"
    many+=("$RPS")
    MANY_P="$P50/$P99"
    token_rps "/t/t$MID" "$TENANT_BASIC" "$NTENANTS tenants, tenant t$MID, run $i"
    inner+=("$RPS")
    INNER_P="$P50/$P99"
done

ONE=$(median "${one[@]}")
MANY=$(median "${many[@]}")
INNER=$(median "${inner[@]}")
delta() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (b - a) / a * 100}'; }
within() { awk -v a="$1" -v b="$2" 'BEGIN {exit !((a - b) / a <= 0.05)}'; }
verdict() { within "$ONE" "$1" && echo "within 5%" || echo "MORE THAN 5% SLOWER"; }

{
    echo "Gatehouse tenants benchmark, $RUN_DATE, commit $COMMIT (binary built $BIN_DATE)"
    echo "client_credentials tokens/s, wrk -t2 -c$CONNS, ${DURATION}s runs, median of $ROUNDS"
    echo
    printf '%-44s %10s %14s %s\n' "" "tokens/s" "p50/p99 ms" "vs one tenant"
    printf '%-44s %10s %14s %s\n' "one tenant (default)" "$ONE" "$ONE_P" ""
    printf '%-44s %10s %14s %s\n' "$NTENANTS more tenants: the default tenant" "$MANY" "$MANY_P" "$(delta "$ONE" "$MANY") ($(verdict "$MANY"))"
    printf '%-44s %10s %14s %s\n' "$NTENANTS more tenants: tenant t$MID by path" "$INNER" "$INNER_P" "$(delta "$ONE" "$INNER") ($(verdict "$INNER"))"
    echo
    echo "all runs: one [${one[*]}]  default [${many[*]}]  t$MID [${inner[*]}]"
    echo "creating a tenant (two signing keys, 4 at a time): ${CREATE_MS} ms each; keys in a tenant's JWKS: $KEYS"
    echo "server RSS: $(mib "$RSS_ONE") MiB with one tenant, $(mib "$RSS_MANY") MiB with $((NTENANTS + 1))"
    echo "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg); $NPROC CPUs shared by wrk and the server"
} | tee "$RESULTS/tenants.txt"
