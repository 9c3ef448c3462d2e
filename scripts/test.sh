#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. formatting check
#   2. C unit tests (cmocka)
#   3. the same unit tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#      and the shutdown end-to-end tests against the sanitized server
#   4. the store's unit tests (plain and sanitized) on PostgreSQL, in a
#      throwaway cluster (scripts/pg.sh) that is always removed
#   5. end-to-end tests (Node's test runner) against the real server, on
#      SQLite and on PostgreSQL side by side
#   6. the Debian package: built (scripts/package.sh, lintian clean), installed,
#      served as the gatehouse user, purged (tests/package/check.sh; needs root
#      or sudo)
# Ends with one line "total: N passed, M failed" counting test cases.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test || exit 1

# The SQLite steps must run on SQLite whatever the caller's environment says.
unset GATEHOUSE_TEST_DATABASE_URL

passed=0
failed=0
broken_steps=()
# The names of failed end-to-end tests, repeated at the end of the output so a
# log cut to its last lines still says what failed.
failed_tests=$(mktemp)

# Adds the cmocka counts found in a meson test log.
count_cmocka() {
  local log=$1 p f
  p=$(grep -ohE '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -ohE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  passed=$((passed + p))
  failed=$((failed + f))
}

step() { # name, command...
  local name=$1 t0=$SECONDS
  shift
  echo "== $name"
  if ! "$@"; then
    broken_steps+=("$name")
    echo "!! $name failed"
  fi
  echo "== $name: $((SECONDS - t0)) s" # where CI's time goes
}

unit() {
  meson test -C build --suite unit --print-errorlogs
  local rc=$?
  count_cmocka build/meson-logs/testlog.txt
  return $rc
}

asan() {
  if [ ! -f build-asan/build.ninja ]; then
    CC=clang meson setup build-asan --buildtype=debug -Dtests=enabled \
      -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || return 1
  fi
  ninja -C build-asan >/dev/null || return 1
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-asan --suite unit --print-errorlogs
  local rc=$?
  count_cmocka build-asan/meson-logs/testlog.txt
  return $rc
}

# Counts the results of one end-to-end run whose output is in out, for
# backend (sqlite or postgresql).
e2e_count() {
  local out=$1 backend=$2 p f
  p=$(grep -E '^ℹ pass [0-9]+' "$out" | awk '{print $3}' | tail -1)
  f=$(grep -E '^ℹ fail [0-9]+' "$out" | awk '{print $3}' | tail -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  grep -E '^ *✖ ' "$out" | grep -v '✖ failing tests:' | sed "s/^ */  [$backend] /" | sort -u >>"$failed_tests"
}

e2e_node() {
  node --test --test-concurrency=1 --test-reporter=spec tests/e2e/
}

# The end-to-end suite on SQLite and, when the cluster is up, on PostgreSQL
# side by side: each waits on its own server most of the time, so two runs
# take little longer than one. Each run's output is printed whole when both
# are done.
e2e_both() {
  local out_sq out_pg rc_sq=0 rc_pg=0 pid_sq pid_pg=""
  out_sq=$(mktemp)
  out_pg=$(mktemp)
  (unset GATEHOUSE_TEST_DATABASE_URL; e2e_node) >"$out_sq" 2>&1 &
  pid_sq=$!
  if [ -n "$pg_url" ]; then
    (GATEHOUSE_TEST_DATABASE_URL=$pg_url e2e_node) >"$out_pg" 2>&1 &
    pid_pg=$!
  fi
  wait "$pid_sq" || rc_sq=$?
  [ -z "$pid_pg" ] || wait "$pid_pg" || rc_pg=$?
  echo "-- end-to-end on SQLite"
  cat "$out_sq"
  e2e_count "$out_sq" sqlite
  if [ -n "$pid_pg" ]; then
    echo "-- end-to-end on PostgreSQL"
    cat "$out_pg"
    e2e_count "$out_pg" postgresql
  else
    echo "!! no PostgreSQL cluster: the PostgreSQL end-to-end run was not made"
    rc_pg=1
  fi
  rm -f "$out_sq" "$out_pg"
  [ "$rc_sq" -eq 0 ] && [ "$rc_pg" -eq 0 ]
}

# The PostgreSQL cluster of the PostgreSQL steps; removed on any exit.
pg_dir=""
pg_url=""
stop_pg() {
  if [ -n "$pg_dir" ]; then
    scripts/pg.sh stop "$pg_dir" || true
    pg_dir=""
    pg_url=""
  fi
}
trap 'stop_pg; rm -f "$failed_tests"' EXIT
trap 'stop_pg; exit 130' INT TERM

start_pg() {
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-pg-XXXXXX") || return 1
  pg_url=$(scripts/pg.sh start "$pg_dir")
}

# The unit tests that open a database (and read GATEHOUSE_TEST_DATABASE_URL);
# the others would only run twice. risk and audit_verify open theirs through
# testdb.h (test_db_open): the risk store's SQL (upserts, time windows) and the
# audit chain's head (FOR UPDATE, one WITH statement on PostgreSQL) run on both.
# The rest open theirs through testdb.h as well, so each of them runs on both.
pg_unit_tests=(store mail clients keys store_mfa store_prune risk audit_verify
  branding consent data_export deletion factors keys_rotate keys_tenants recovery sessions)
unit_pg() {
  [ -n "$pg_url" ] || return 1
  GATEHOUSE_TEST_DATABASE_URL=$pg_url meson test -C build --print-errorlogs "${pg_unit_tests[@]}"
  local rc=$?
  count_cmocka build/meson-logs/testlog.txt
  return $rc
}

# The sanitizer build from the ASan step, on the PostgreSQL driver too.
# One e2e file against the sanitizer build: SIGTERM while jobs wait for the
# worker pool (shutdown frees request contexts and resumes connections that
# worker threads touched). Takes well under a minute.
asan_e2e() {
  [ -x build-asan/gatehouse ] || return 1
  local out
  out=$(mktemp)
  E2E_GATEHOUSE_BIN=$PWD/build-asan/gatehouse ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    node --test --test-concurrency=1 --test-reporter=spec tests/e2e/shutdown.test.mjs 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -E '^ℹ pass [0-9]+' "$out" | awk '{print $3}' | tail -1)
  f=$(grep -E '^ℹ fail [0-9]+' "$out" | awk '{print $3}' | tail -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  rm -f "$out"
  return $rc
}

asan_pg() {
  [ -n "$pg_url" ] && [ -f build-asan/build.ninja ] || return 1
  GATEHOUSE_TEST_DATABASE_URL=$pg_url ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-asan --print-errorlogs "${pg_unit_tests[@]}"
  local rc=$?
  count_cmocka build-asan/meson-logs/testlog.txt
  return $rc
}


# Builds the libFuzzer targets (clang) and runs each briefly on a copy of its
# seed corpus: enough to keep them building and to catch shallow crashes;
# long runs are described in fuzz/README.md.
fuzz_smoke() {
  local blog
  blog=$(mktemp)
  # Quiet when it works; the compiler's words when it does not.
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false >"$blog" 2>&1 ||
      { tail -40 "$blog"; rm -f "$blog"; return 1; }
  fi
  ninja -C build-fuzz >"$blog" 2>&1 || { grep -v '^\[' "$blog" | tail -40; rm -f "$blog"; return 1; }
  rm -f "$blog"
  # Two targets at a time (each uses one core): half the wall time.
  local t rc=0 results
  results=$(mktemp -d)
  for t in build-fuzz/fuzz_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
    fuzz_one "$t" "$results" &
  done
  wait
  for t in "$results"/*.ok; do
    [ -e "$t" ] || continue
    passed=$((passed + 1))
    cat "$t"
  done
  for t in "$results"/*.fail; do
    [ -e "$t" ] || continue
    failed=$((failed + 1))
    rc=1
    cat "$t"
  done
  rm -rf "$results"
  return $rc
}

# Runs one fuzz target for 10 s on a copy of its corpus; its line (or the
# end of its log) lands in DIR/NAME.ok or DIR/NAME.fail.
fuzz_one() {
  local t=$1 dir=$2 name work
  name=${t#build-fuzz/fuzz_}
  work=$(mktemp -d)
  [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/"
  if "$t" -max_total_time=10 "$work" >"$work.log" 2>&1; then
    echo "fuzz $name: $(grep -o 'Done [0-9]* runs' "$work.log")" >"$dir/$name.ok"
  else
    tail -30 "$work.log" >"$dir/$name.fail"
  fi
  rm -rf "$work" "$work.log"
}

# Builds the .deb (a second, plain compile of the server: 1-2 minutes),
# installs it, checks it and purges it again.
debian_package() {
  local deb out rc
  deb=$(scripts/package.sh | tail -1) || return 1
  out=$(mktemp)
  tests/package/check.sh "$deb" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  passed=$((passed + $(grep -c '^ok:' "$out")))
  failed=$((failed + $(grep -c '^FAIL:' "$out")))
  rm -f "$out"
  return $rc
}

step "format" scripts/check-format.sh
step "layers" scripts/check-layers.sh
step "build" scripts/build.sh --tests
step "unit tests" unit
step "unit tests (ASan+UBSan)" asan
step "shutdown end-to-end (ASan+UBSan)" asan_e2e
step "fuzz targets (10 s each)" fuzz_smoke
step "PostgreSQL test cluster" start_pg
step "unit tests (PostgreSQL)" unit_pg
step "unit tests (PostgreSQL, ASan+UBSan)" asan_pg
step "end-to-end tests (SQLite and PostgreSQL side by side)" e2e_both
stop_pg
step "Debian package" debian_package

echo
if [ -s "$failed_tests" ]; then
  echo "failed end-to-end tests:"
  cut -c1-300 "$failed_tests"
fi
if [ ${#broken_steps[@]} -gt 0 ]; then
  echo "failed steps: ${broken_steps[*]}"
  [ "$failed" -gt 0 ] || failed=${#broken_steps[@]}
fi
echo "total: $passed passed, $failed failed"
[ ${#broken_steps[@]} -eq 0 ] && [ "$failed" -eq 0 ]
