#!/usr/bin/env bash
# OpenID Connect endpoint benchmark: client_credentials token issuance, the
# refresh grant, introspection, userinfo, JWKS and discovery: requests/s,
# p50/p99 at the peak and at about half the peak rate, peak RSS, next to the
# machine's raw ES256 (and RS256) signature rates measured by this script.
# Prints a table and writes it to bench/results/oidc.txt. See bench/README.md.
#
# Knobs (environment): BENCH_DURATION (seconds per wrk run, default 8),
# BENCH_CONNS (connections for the peak runs, default 64), BENCH_PACE_MS
# (per-connection pause in the half-rate runs, default 10),
# BENCH_SIG_SECONDS (seconds per signature measurement, default 2),
# BENCH_ONLY (a space-separated subset of: live discovery jwks cc introspect
# introspect_new userinfo refresh code; the report leaves the others out),
# BENCH_MANY_TOKENS (distinct access tokens for introspect_new, default 8192),
# BENCH_PG_URL (a postgresql:// URL of a role that may create databases: the
# server runs on a fresh database there instead of SQLite).
#
# The server runs with GATEHOUSE_RATE_LIMITS=off: the rate limits (on by
# default, docs/rate-limits.md) would answer the set-up's bursts of code
# flows and the runs themselves with slow_down / 429, and this measures the
# endpoints, not the limits (bench/ratelimit.sh measures those). The report
# says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init oidc

DURATION=${BENCH_DURATION:-8}
CONNS=${BENCH_CONNS:-64}
PACE=${BENCH_PACE_MS:-10}
SIG_SECONDS=${BENCH_SIG_SECONDS:-2}
THREADS=2
REDIRECT=https://app.example.com/cb
REDIRECT_ENC=https%3A%2F%2Fapp.example.com%2Fcb

compile_rate_programs

wait_quiet
IDLE_BEFORE=$(cpu_idle_pct)

sig_rate() {
    say "raw signature rates (${SIG_SECONDS}s each on $NPROC threads)"
    noise_begin
    SIG_LINE=$("$WORK/sig_rate" "$SIG_SECONDS" "$NPROC") || die "sig_rate failed"
    TOTP_LINE=$("$WORK/totp_rate" "$SIG_SECONDS") || die "totp_rate failed"
    WA_LINE=$("$WORK/webauthn_rate" "$SIG_SECONDS") || die "webauthn_rate failed"
    noise_end
    SIG_NOISE=$NOISE
    echo "===== sig_rate: $SIG_LINE (other work: $NOISE%)" >>"$RAW"
    echo "===== totp_rate: $TOTP_LINE" >>"$RAW"
    echo "===== webauthn_rate: $WA_LINE" >>"$RAW"
}
sig_rate
SIG_BEFORE=$SIG_LINE
TOTP_BEFORE=$TOTP_LINE
WA_BEFORE=$WA_LINE
SIG_NOISE_BEFORE=$SIG_NOISE

BACKEND=SQLite
DB=$WORK/data-main/gatehouse.db
if [[ -n ${BENCH_PG_URL:-} ]]; then # a fresh database, dropped at the end
    BACKEND=PostgreSQL
    dbname=ghoidc_$$_$(rand_hex 4)
    PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)
    "$PSQL" -X -q "$BENCH_PG_URL" -c "CREATE DATABASE $dbname" || die "cannot create database $dbname"
    at_exit "'$PSQL' -X -q '$BENCH_PG_URL' -c 'DROP DATABASE IF EXISTS $dbname' >/dev/null 2>&1"
    DB=${BENCH_PG_URL%/*}/$dbname
fi
say "server on $BACKEND with GATEHOUSE_RATE_LIMITS=off (the endpoints' cost, not the limits')"
start_gh main "$DB" GATEHOUSE_RATE_LIMITS=off
MAIN=$PORT
MAIN_PID=$PID
U=http://127.0.0.1:$MAIN
IDLE_KIB=$(status_kib "$MAIN_PID" VmRSS)

# ---------------------------------------------------------------- setup

say "registering an API, clients, creating a user, signing in"
register_resource "$MAIN" '{"identifier":"https://api.bench.example","name":"Bench API","scopes":{"api.read":"Read","api.write":"Write"}}'
CC=$(register_client "$MAIN" '{"client_name":"bench-service","grant_types":["client_credentials"],"scope":"api.read api.write"}')
CC_ID=$(jq -r .client_id <<<"$CC")
CC_SECRET=$(jq -r .client_secret <<<"$CC")
CC_BASIC="Authorization: Basic $(printf '%s:%s' "$CC_ID" "$CC_SECRET" | base64 -w0)"
WEB=$(register_client "$MAIN" "{\"client_name\":\"bench-web\",\"redirect_uris\":[\"$REDIRECT\"],\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"gatehouse_first_party\":true}")
WEB_ID=$(jq -r .client_id <<<"$WEB")
WEB_SECRET=$(jq -r .client_secret <<<"$WEB")
WEB_BASIC="Authorization: Basic $(printf '%s:%s' "$WEB_ID" "$WEB_SECRET" | base64 -w0)"
FORM="Content-Type: application/x-www-form-urlencoded"

EMAIL=oidc-user@example.com
PASSWORD=Quartz-oidc-Meadow-4821
code=$(scim_create "$MAIN" "$EMAIL" "$PASSWORD")
[[ $code == 201 ]] || die "SCIM create answered $code"
session_csrf "$MAIN"
signin=$(curl -sS -D "$WORK/signin-headers.txt" -H "Cookie: gh_pre=$PRE" -H "X-CSRF-Token: $CSRF" \
    -H 'Content-Type: application/json' --data "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "$U/api/v1/signin")
[[ $signin == *'"signed_in"'* ]] || die "sign-in failed: $signin"
SESSION=$(sed -n 's/^[Ss]et-[Cc]ookie: *gh_session=\([^;]*\).*/\1/p' "$WORK/signin-headers.txt" | tr -d '\r' | head -1)
[[ -n $SESSION ]] || die "no session cookie after sign-in"

# PKCE: one verifier for every flow (each flow still gets its own code).
VERIFIER=$(rand_hex 32)
CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
AUTHZ="$U/authorize?client_id=$WEB_ID&redirect_uri=$REDIRECT_ENC&response_type=code&scope=openid%20email%20profile%20offline_access&code_challenge=$CHALLENGE&code_challenge_method=S256&state=bench"

# code_flow OUT: one authorization code flow for the signed-in user; writes
# the token response (JSON) to OUT.
code_flow() {
    local loc c
    loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -H "Cookie: gh_session=$SESSION" "$AUTHZ") || return 1
    c=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc")
    [[ -n $c ]] || {
        echo "{\"error\":\"no code in redirect: $loc\"}" >"$1"
        return 0
    }
    curl -sS -H "$WEB_BASIC" -H "$FORM" \
        --data "grant_type=authorization_code&code=$c&redirect_uri=$REDIRECT_ENC&code_verifier=$VERIFIER" \
        "$U/token" >"$1"
}

# refresh_tokens N FILE: N refresh tokens, each heading its own chain.
refresh_tokens() {
    local n=$1 file=$2 i batch=()
    mkdir -p "$WORK/flows"
    rm -f "$WORK"/flows/*
    for ((i = 1; i <= n; i++)); do
        code_flow "$WORK/flows/$i.json" &
        batch+=($!)
        if ((${#batch[@]} == 8 || i == n)); then
            wait "${batch[@]}" || true
            batch=()
        fi
    done
    cat "$WORK"/flows/*.json | jq -r '.refresh_token // empty' >"$file"
    local got
    got=$(wc -l <"$file")
    ((got == n)) || die "only $got of $n code flows gave a refresh token: $(cat "$WORK"/flows/*.json | jq -c 'select(.refresh_token == null)' | head -1)"
}

code_flow "$WORK/first-flow.json"
USER_AT=$(jq -r '.access_token // empty' "$WORK/first-flow.json")
[[ -n $USER_AT ]] || die "code flow failed: $(head -c 400 "$WORK/first-flow.json")"
CC_AT=$(cc_token "$MAIN" "$CC_ID" "$CC_SECRET" api.read)
[[ -n $CC_AT ]] || die "client_credentials failed"

# Every request shape once by hand before wrk repeats it.
check() { # LABEL EXPECT-IN-BODY curl args...
    local label=$1 want=$2 out
    shift 2
    out=$(curl -sS -w '\n%{http_code}' "$@") || die "$label: curl failed"
    [[ ${out##*$'\n'} == 200 && ${out%$'\n'*} == *"$want"* ]] ||
        die "$label answered ${out##*$'\n'}: $(head -c 400 <<<"${out%$'\n'*}")"
}
check_all() {
    check "client_credentials" '"access_token"' -H "$CC_BASIC" -H "$FORM" --data "grant_type=client_credentials&scope=api.read" "$U/token"
    check "introspection" '"active":true' -H "$CC_BASIC" -H "$FORM" --data "token=$CC_AT" "$U/introspect"
    check "userinfo" '"sub"' -H "Authorization: Bearer $USER_AT" "$U/userinfo"
    check "discovery" '"issuer"' "$U/.well-known/openid-configuration"
    check "jwks" '"keys"' "$U/jwks"
}
check_all
# Distinct access tokens for introspect_new, 16x more than gh_keys remembers
# (512), collected from client_credentials responses by one short wrk run.
MANY_TOKENS=${BENCH_MANY_TOKENS:-8192}
: >"$WORK/many-tokens.txt"
wrk -t1 -c16 -d3s -s "$BENCH/collect.lua" -H "$CC_BASIC" -H "$FORM" "$U/token" \
    -- "$WORK/many-tokens.txt" "$MANY_TOKENS" POST "grant_type=client_credentials&scope=api.read" \
    >"$WORK/collect.txt" 2>&1 || die "collecting tokens failed: $(tail -3 "$WORK/collect.txt")"
got=$(sort -u "$WORK/many-tokens.txt" | wc -l)
((got >= MANY_TOKENS)) || die "collected only $got distinct access tokens of $MANY_TOKENS"
# The setup hashed two passwords (SCIM create, sign-in): argon2id's ~19 MiB
# scratch space is in the high-water mark before any load run.
SETUP_HWM_KIB=$(status_kib "$MAIN_PID" VmHWM)

# ---------------------------------------------------------------- runs

declare -A R_BL R_HALF R_CONNS_HALF R_RSS R_NOISE
ORDER=(live discovery jwks cc introspect introspect_new userinfo refresh code)
if [[ -n ${BENCH_ONLY:-} ]]; then
    read -ra ORDER <<<"$BENCH_ONLY"
    for key in "${ORDER[@]}"; do
        [[ " live discovery jwks cc introspect introspect_new userinfo refresh code " == *" $key "* ]] ||
            die "BENCH_ONLY: unknown case $key"
    done
fi
declare -A LABEL=(
    [live]="GET /healthz/live (HTTP ceiling)"
    [discovery]="GET /.well-known/openid-configuration"
    [jwks]="GET /jwks"
    [cc]="POST /token client_credentials"
    [introspect]="POST /introspect (access token)"
    [introspect_new]="POST /introspect (a new token each time)"
    [userinfo]="GET /userinfo"
    [refresh]="POST /token refresh_token"
    [code]="GET /authorize + code exchange"
)

# run_case KEY MODE CONNS [SECONDS]: MODE peak, half or cal (a short run to
# calibrate the half-rate run). Sets BL.
run_case() {
    local key=$1 mode=$2 conns=$3 dur=${4:-$DURATION} thr=$THREADS out args=()
    ((conns >= thr)) || thr=1
    out=$WORK/wrk-$key-$mode.txt
    case $key in
    live) args=(/healthz/live fixed.lua) ;;
    discovery) args=(/.well-known/openid-configuration fixed.lua) ;;
    jwks) args=(/jwks fixed.lua) ;;
    cc) args=(/token fixed.lua -H "$CC_BASIC" -H "$FORM" -- POST "grant_type=client_credentials&scope=api.read") ;;
    introspect) args=(/introspect fixed.lua -H "$CC_BASIC" -H "$FORM" -- POST "token=$CC_AT") ;;
    introspect_new) args=(/introspect cycle.lua -H "$CC_BASIC" -H "$FORM" -- "$WORK/many-tokens.txt" "$thr") ;;
    userinfo) args=(/userinfo fixed.lua -H "Authorization: Bearer $USER_AT") ;;
    refresh)
        # one fresh chain per connection, plus a few spare
        refresh_tokens $((conns + 4)) "$WORK/rt-$mode.txt"
        args=(/token refresh.lua -H "$WEB_BASIC" -H "$FORM" -- "$WORK/rt-$mode.txt" "$thr")
        ;;
    code) args=("${AUTHZ#"$U"}" code.lua -H "Cookie: gh_session=$SESSION" -H "$WEB_BASIC" -H "$FORM" --
        "${AUTHZ#"$U"}" "grant_type=authorization_code&redirect_uri=$REDIRECT_ENC&code_verifier=$VERIFIER&") ;;
    esac
    say "$key $mode: wrk -t$thr -c$conns -d${dur}s$([[ $mode != peak ]] && echo ", pause ${PACE} ms before each request")"
    # pace.lua reads BENCH_PACE_MS from wrk's environment
    if [[ $mode != peak ]]; then export BENCH_PACE_MS=$PACE; else unset BENCH_PACE_MS; fi
    noise_begin "$MAIN_PID"
    wrk_start "$out" "$MAIN" "${args[0]}" "$thr" "$conns" "$dur" "${args[@]:1}"
    unset BENCH_PACE_MS
    local w=$WPID rss
    sleep $((dur / 2))
    rss=$(status_kib "$MAIN_PID" VmRSS)
    wrk_wait "$w" "$out" "${LABEL[$key]}, $mode (t$thr c$conns$([[ $mode != peak ]] && echo ", pause ${PACE} ms"))"
    noise_end
    server_alive main "${LABEL[$key]} ($mode)"
    [[ $mode == cal ]] && return 0
    R_RSS[$key-$mode]=$rss
    R_HWM[$key-$mode]=$(status_kib "$MAIN_PID" VmHWM)
    R_NOISE[$key-$mode]=$NOISE
    R_CPU[$key-$mode]=$(awk -v us="$OWN_US" -v n="$(kv "$BL" requests)" 'BEGIN {printf "%.0f", (n > 0 ? us / n : 0)}')
    errors_clean "$BL" || PROBLEMS+=("${LABEL[$key]} ($mode): $(errors_of "$BL")$([[ -n $(kv "$BL" codes) ]] && echo ", by status: $(kv "$BL" codes)")${BSAMPLE:+; first body: $BSAMPLE}")
    if [[ $key == code && $(kv "$BL" nocode) != 0 ]]; then
        PROBLEMS+=("${LABEL[$key]} ($mode): $(kv "$BL" nocode) redirects carried no code")
    fi
    if [[ $key == refresh && $(kv "$BL" starved) != 0 ]]; then
        PROBLEMS+=("${LABEL[$key]} ($mode): $(kv "$BL" starved) requests found no live refresh token (chains broken by errors)")
    fi
    if (($(kv "$BL" max_us) >= 1000000)); then
        STALLS+=("${LABEL[$key]} ($mode): slowest response $(ms_from_us "$(kv "$BL" max_us)") ms")
    fi
}
STALLS=()
declare -A R_HWM R_CPU

for key in "${ORDER[@]}"; do
    run_case "$key" peak "$CONNS"
    R_BL[$key]=$BL
    # About half the peak rate: connections = half rate x (pause + ~0.6 ms
    # of timer slack and latency), then corrected by a 2 s calibration run,
    # since on a busy machine wrk's timers fire late.
    peak=$(kv "$BL" rps)
    hc=$(awk -v r="$peak" -v p="$PACE" 'BEGIN {c = int(r / 2 * (p + 0.6) / 1000 + 0.5); print (c < 1 ? 1 : c)}')
    run_case "$key" cal "$hc" 2
    hc=$(awk -v c="$hc" -v r="$peak" -v got="$(kv "$BL" rps)" 'BEGIN {
        n = (got > 0) ? int(c * (r / 2) / got + 0.5) : c
        if (n > 4 * c) n = 4 * c; if (n > 2000) n = 2000; if (n < 1) n = 1; print n }')
    run_case "$key" half "$hc"
    R_HALF[$key]=$BL
    R_CONNS_HALF[$key]=$hc
done

# The tokens must still be good after the runs (introspection answers 200
# with active=false for a bad token, which wrk cannot tell from success).
check_all
server_alive main "the checks after the runs"
PEAK_KIB=$(status_kib "$MAIN_PID" VmHWM)
AFTER_KIB=$(status_kib "$MAIN_PID" VmRSS)
SRV_THREADS=$(status_kib "$MAIN_PID" Threads)
stop_gh main
sig_rate
SIG_AFTER=$SIG_LINE
TOTP_AFTER=$TOTP_LINE
WA_AFTER=$WA_LINE
SIG_NOISE_AFTER=$SIG_NOISE
collect_log_problems

# ---------------------------------------------------------------- report

best() { # KEY: the better of the before/after values of a sig_rate key
    awk -v a="$(kv "$SIG_BEFORE" "$1")" -v b="$(kv "$SIG_AFTER" "$1")" 'BEGIN {printf "%.0f", (a > b ? a : b)}'
}
ES_SIGN=$(best es256_sign_per_s)
ES_VERIFY=$(best es256_verify_per_s)
RS_SIGN=$(best rs256_sign_per_s)
LIVE_RPS=$(kv "${R_BL[live]:-}" rps)
# The ceiling each endpoint is held to: its cryptography, or for the
# endpoints without any, the HTTP stack (GET /healthz/live).
declare -A CEIL CEIL_WHAT
CEIL[live]=""
CEIL_WHAT[live]="-"
CEIL[discovery]=$LIVE_RPS
CEIL_WHAT[discovery]="healthz"
CEIL[jwks]=$LIVE_RPS
CEIL_WHAT[jwks]="healthz"
CEIL[cc]=$ES_SIGN
CEIL_WHAT[cc]="1 sign"
CEIL[introspect]=$ES_VERIFY
CEIL_WHAT[introspect]="1 verify"
CEIL[introspect_new]=$ES_VERIFY
CEIL_WHAT[introspect_new]="1 verify"
CEIL[userinfo]=$ES_VERIFY
CEIL_WHAT[userinfo]="1 verify"
CEIL[refresh]=$(awk -v s="$ES_SIGN" 'BEGIN {printf "%.0f", s / 2}')
CEIL_WHAT[refresh]="2 signs"
CEIL[code]=""
CEIL_WHAT[code]="-"
declare -A TARGET=([cc]=20000 [introspect]=20000 [discovery]=40000 [jwks]=40000)

row() { printf '  %-38s %9s %7s %7s %8s   %8s %-8s %5s   %5s %5s %6s %7s   %s\n' "$@"; }
{
    echo "Gatehouse OpenID Connect benchmark  $RUN_DATE  commit $COMMIT"
    echo
    echo "Machine"
    machine_lines
    printf '  %-32s %s%%\n' "CPU idle in 1 s before start" "$IDLE_BEFORE"
    awk -v i="$IDLE_BEFORE" 'BEGIN {if (i < 80) print "  WARNING: the CPUs were already busy when the run started; figures are noisy"}'
    echo
    echo "Raw signatures/s (bench/sig_rate.c, OpenSSL $(kv "$SIG_BEFORE" openssl) EVP, SHA-256 over 300 bytes,"
    echo "$NPROC threads, ${SIG_SECONDS}s each; before the runs / after the runs)"
    printf '  %-32s %9s / %s\n' "ES256 (P-256) sign" "$(kv "$SIG_BEFORE" es256_sign_per_s)" "$(kv "$SIG_AFTER" es256_sign_per_s)"
    printf '  %-32s %9s / %s\n' "ES256 (P-256) verify" "$(kv "$SIG_BEFORE" es256_verify_per_s)" "$(kv "$SIG_AFTER" es256_verify_per_s)"
    printf '  %-32s %9s / %s\n' "RS256 (RSA-2048) sign" "$(kv "$SIG_BEFORE" rs256_sign_per_s)" "$(kv "$SIG_AFTER" rs256_sign_per_s)"
    printf '  %-32s %9s / %s\n' "TOTP verify (1 core, window 1)" "$(kv "$TOTP_BEFORE" totp_verify_per_s)" "$(kv "$TOTP_AFTER" totp_verify_per_s)"
    printf '  %-32s %9s / %s\n' "WebAuthn ES256 assert (1 core)" "$(kv "$WA_BEFORE" webauthn_es256_assert_per_s)" "$(kv "$WA_AFTER" webauthn_es256_assert_per_s)"
    printf '  %-32s %9s / %s\n' "ES256 verify (1 core)" "$(kv "$WA_BEFORE" es256_verify_per_s)" "$(kv "$WA_AFTER" es256_verify_per_s)"
    echo "  Other work took $SIG_NOISE_BEFORE% / $SIG_NOISE_AFTER% of the CPU time during these measurements."
    echo "  TOTP: bench/totp_rate.c, gh_totp_verify (3 HMAC-SHA1 codes, liboath $(kv "$TOTP_BEFORE" liboath)) on one thread."
    echo "  WebAuthn: bench/webauthn_rate.c, gh_webauthn_assert (JSON, CBOR, key import, ECDSA) vs raw EVP_DigestVerify, one thread."
    echo "  Access tokens and ID tokens are signed with ES256 (the default)."
    echo
    echo "Load: server on $BACKEND, access log off, rate limits off (GATEHOUSE_RATE_LIMITS=off: on by"
    echo "default they would answer this load with slow_down / 429), wrk -t$THREADS on the same $NPROC cores, ${DURATION}s per run,"
    echo "peak runs with $CONNS connections; latency in ms; 'other' = CPU share taken by other processes"
    echo "during the peak / half run"
    row "" "req/s" p50 p99 max ceiling "of what" "%ceil" "half" conns p50 p99 other
    for key in "${ORDER[@]}"; do
        bl=${R_BL[$key]}
        hb=${R_HALF[$key]}
        rps=$(kv "$bl" rps)
        row "${LABEL[$key]}" "$rps" "$(ms_from_us "$(kv "$bl" p50_us)")" "$(ms_from_us "$(kv "$bl" p99_us)")" \
            "$(ms_from_us "$(kv "$bl" max_us)")" \
            "${CEIL[$key]:--}" "${CEIL_WHAT[$key]}" "$( [[ -n ${CEIL[$key]} ]] && pct "$rps" "${CEIL[$key]}" || echo -)" \
            "$(pct "$(kv "$hb" rps)" "$rps")" "${R_CONNS_HALF[$key]}" "$(ms_from_us "$(kv "$hb" p50_us)")" \
            "$(ms_from_us "$(kv "$hb" p99_us)")" "${R_NOISE[$key-peak]}%/${R_NOISE[$key-half]}%"
    done
    echo
    echo "  server CPU per request at the peak / in the half run: user + system time of the gatehouse"
    echo "  process over the run, divided by the requests answered (wrk's and PostgreSQL's share left"
    echo "  out; at the peak it includes the time lost to contention):"
    for key in "${ORDER[@]}"; do
        printf '  %-38s %6s / %6s us\n' "${LABEL[$key]}" "${R_CPU[$key-peak]}" "${R_CPU[$key-half]}"
    done
    echo
    echo "  half: a run paced at about half the peak rate (a ${PACE} ms pause before each request on"
    echo "  each connection, connections set from a 2 s calibration run; wrk 4.1 has no -R): its rate"
    echo "  as % of the peak, its connections, p50 and p99."
    echo "  ceiling: the machine's raw ES256 signatures or verifications/s divided by the crypto work of"
    echo "  one request, or for discovery and JWKS the GET /healthz/live rate. The raw rates use every"
    echo "  core with no load generator; the server shares the cores with wrk."
    echo "  introspect: one token, as a resource server checking its caller's token on every call;"
    echo "  after the first call its signature is not checked again (gh_keys remembers verified"
    echo "  tokens by hash; expiry, issuer and revocation are still checked every time)."
    echo "  introspect (a new token each time): $MANY_TOKENS distinct tokens in turn, so each request"
    echo "  pays a full ES256 verification: the cost of a token seen for the first time."
    echo "  refresh: one chain per connection (each request sends the token the previous response"
    echo "  returned), $(kv "${R_BL[refresh]:-}" chains) chains from as many code flows; each refresh writes to the database."
    if [[ -n ${R_BL[code]:-} ]]; then
        echo "  authorize + code exchange: a GET /authorize with the session cookie (302 with a new code),"
        echo "  then that code's exchange at POST /token (ID, access and refresh token; the exchange"
        echo "  writes a token.issued audit event): req/s counts both requests; complete"
        echo "  flows: $(kv "${R_BL[code]}" flows_per_s)/s at the peak, $(kv "${R_HALF[code]}" flows_per_s)/s in the half run."
    fi
    echo "  wrk corrects its percentiles for coordinated omission: one slow response adds synthetic"
    echo "  samples for the requests a steady client would have sent meanwhile, so a stall weighs heavily."
    echo
    echo "Memory (MiB): idle after start $(mib "$IDLE_KIB"); RSS mid-run / VmHWM after each peak run:"
    line=""
    for key in "${ORDER[@]}"; do
        line+="$key $(mib "${R_RSS[$key-peak]}")/$(mib "${R_HWM[$key-peak]}")  "
    done
    echo "  $line"
    printf '  %-32s %s\n' "VmHWM after setup, before load" "$(mib "$SETUP_HWM_KIB") (includes the setup's argon2id hashes, ~19 MiB each)"
    printf '  %-32s %s\n' "peak RSS (VmHWM), all runs" "$(mib "$PEAK_KIB")"
    printf '  %-32s %s (%s threads)\n' "RSS after the runs" "$(mib "$AFTER_KIB")" "$SRV_THREADS"
    echo
    echo "Targets (2 cores, load generator on the same machine)"
    for key in discovery jwks cc introspect; do
        [[ -n ${R_BL[$key]:-} ]] || continue
        rps=$(kv "${R_BL[$key]}" rps)
        if ge "$rps" "${TARGET[$key]}"; then v=met; else v=MISSED; fi
        printf '  %-62s %s\n' "${LABEL[$key]} >= ${TARGET[$key]} req/s: $rps" "$v"
    done
    for key in "${ORDER[@]}"; do
        [[ $key == live || -z ${R_BL[$key]:-} ]] && continue
        p99=$(ms_from_us "$(kv "${R_HALF[$key]}" p99_us)")
        share=$(pct "$(kv "${R_HALF[$key]}" rps)" "$(kv "${R_BL[$key]}" rps)")
        if lt "$p99" 10; then v=met; else v=MISSED; fi
        printf '  %-62s %s\n' "${LABEL[$key]} p99 < 10 ms at ~half peak ($share): $p99 ms" "$v"
    done
    if lt "$(mib "$PEAK_KIB")" 64; then v=met; else v=MISSED; fi
    printf '  %-62s %s\n' "peak RSS < 64 MiB under load: $(mib "$PEAK_KIB") MiB" "$v"
    echo
    if ((${#STALLS[@]})); then
        echo "Stalls (a response took 1 s or more):"
        for x in "${STALLS[@]}"; do echo "  - $x"; done
        echo
    fi
    print_problems
    echo
    echo "Raw wrk output: bench/results/oidc-raw.txt; run took $((SECONDS - T_START)) s"
} | tee "$RESULTS/oidc.txt"
