#!/usr/bin/env bash
# Second-factor verification rates (issue: MFA, passkeys, step-up): TOTP
# codes checked per second (gh_totp_verify, window +/-1) and WebAuthn ES256
# assertions verified per second (gh_webauthn_assert: clientDataJSON,
# authenticatorData, COSE key import, ECDSA), each on one core, next to the
# machine's raw ES256 verify rate and the argon2id cost of one recovery-code
# check. Prints a table and writes it to bench/results/mfa.txt.
#
# Knobs (environment): BENCH_SIG_SECONDS (seconds per measurement, default 3).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init mfa

SECS=${BENCH_SIG_SECONDS:-3}

compile_rate_programs
cc -O2 -I"$ROOT/src/base" -I"$ROOT/src/proto" "$BENCH/argon2_rate.c" "$ROOT/src/proto/gh_password.c" -o "$WORK/argon2_rate" \
    -lsodium -largon2 -lpthread ||
    die "cannot compile bench/argon2_rate.c"

wait_quiet
noise_begin
SIG=$("$WORK/sig_rate" "$SECS" 1) || die "sig_rate failed"
TOTP=$("$WORK/totp_rate" "$SECS") || die "totp_rate failed"
WA=$("$WORK/webauthn_rate" "$SECS") || die "webauthn_rate failed"
# recovery codes: argon2id with 4 MiB and 2 passes (core/gh_factors.c RECOVERY_*)
ARGON=$("$WORK/argon2_rate" "$SECS" 1 4096 2 2>/dev/null || true)
noise_end
{
    echo "===== sig_rate: $SIG"
    echo "===== totp_rate: $TOTP"
    echo "===== webauthn_rate: $WA"
    echo "===== argon2_rate (4 MiB, t=2): $ARGON"
} >>"$RAW"

{
    echo "Gatehouse second-factor verification rates ($RUN_DATE, commit $COMMIT)"
    echo
    machine_lines
    printf '  %-32s %s%%\n' "other processes' CPU share" "$NOISE"
    echo
    printf '  %-40s %12s\n' "measure (one core)" "per second"
    printf '  %-40s %12s\n' "raw ES256 verify (OpenSSL)" "$(kv "$SIG" es256_verify_per_s)"
    printf '  %-40s %12s\n' "WebAuthn ES256 assertion (gh_webauthn)" "$(kv "$WA" webauthn_es256_assert_per_s)"
    printf '  %-40s %12s\n' "TOTP check, window +/-1 (gh_totp)" "$(kv "$TOTP" totp_verify_per_s)"
    if [[ -n $ARGON ]]; then
        printf '  %-40s %12s\n' "recovery-code hash (argon2id 4 MiB, t=2)" "$(kv "$ARGON" hashes_per_s)"
    fi
    echo
    echo "A WebAuthn assertion costs about one ECDSA verification plus parsing;"
    echo "a TOTP check is three HMAC-SHA1s. Both are far cheaper than the"
    echo "password hash that precedes them at sign-in."
    echo
    echo "Raw output: bench/results/mfa-raw.txt"
} | tee "$RESULTS/mfa.txt"
