#!/usr/bin/env bash
# Gatehouse benchmark: start-to-ready, idle and peak RSS, GET /healthz/ready
# and SCIM user creation under wrk, next to the machine's raw argon2id rate.
# Prints a table and writes it to bench/results/latest.txt. See bench/README.md.
#
# Knobs (environment): BENCH_DURATION (seconds per wrk run, default 10),
# BENCH_STARTS (fresh starts for start-to-ready, default 5),
# BENCH_SCIM_CONNS (connections for the SCIM runs, default 16),
# BENCH_ARGON2_SECONDS (default 3), BENCH_NO_BUILD=1 (skip scripts/build.sh
# and use the existing build/gatehouse).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench
RESULTS=$BENCH/results
BIN=$ROOT/build/gatehouse

DURATION=${BENCH_DURATION:-10}
STARTS=${BENCH_STARTS:-5}
SCIM_CONNS=${BENCH_SCIM_CONNS:-16}
ARGON2_SECONDS=${BENCH_ARGON2_SECONDS:-3}
GET_CONNS=64
LOW_CONNS=4
THREADS=2

# Argon2 parameters: the server defaults (GATEHOUSE_ARGON2_MEMORY_KIB=19456,
# GATEHOUSE_ARGON2_ITERATIONS=2). The server is started without overriding them.
ARGON2_KIB=19456
ARGON2_OPS=2

die() {
    echo "bench: $*" >&2
    exit 1
}

for tool in wrk curl cc ss; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

# No inherited GATEHOUSE_* setting may leak into the servers started here.
while read -r v; do
    [[ $v == GATEHOUSE_* ]] && unset "$v"
done < <(compgen -e)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
mkdir -p "$RESULTS"
rm -f "$RESULTS/latest.txt" # never leave a stale table next to new raw output
RAW=$RESULTS/latest-raw.txt
: >"$RAW"

# ---------------------------------------------------------------- servers

declare -A SERVER_PORT SERVER_LOG SERVER_PID
LIVE_PIDS=()
WRK_PID=""

# A port nothing listens on right now (a random one, checked against ss).
free_port() {
    local used port i
    used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 40000))
        grep -qx "$port" <<<"$used" && continue
        if { exec {probe}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            exec {probe}>&-
            continue
        fi
        echo "$port"
        return 0
    done
    die "no free port found"
}

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

now_us() { local t=${EPOCHREALTIME//[.,]/}; echo "$t"; }

# A short sleep without forking (sleep(1) costs a fork+exec, ~10 ms on a busy
# VM): a read that times out on a FIFO we hold open and never write.
mkfifo "$WORK/tick"
exec {TICK}<>"$WORK/tick"
tick() { read -r -t "${1:-0.001}" -u "$TICK" _ || true; }

# http_status PORT PATH: sets HS to the status of GET PATH, or "" when
# nothing answers. Plain bash /dev/tcp and no $(...), so no fork: the
# readiness poll stays tight.
http_status() {
    local fd line=""
    HS=""
    if { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
        { printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&"$fd"; } 2>/dev/null || true
        IFS= read -r -t 2 -u "$fd" line 2>/dev/null || true
        exec {fd}>&-
    fi
    line=${line%$'\r'}
    if [[ $line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]]; then HS=${BASH_REMATCH[1]}; fi
    return 0
}

# start_server NAME ACCESS_LOG STDERR [DATA_DIR]: spawns build/gatehouse
# serve on a free port with a fresh data dir (or DATA_DIR, to restart on an
# existing one) and polls GET /healthz/ready with a 1 ms pause between
# attempts. Sets PID, DATA_DIR and START_US (spawn to first 200).
start_server() {
    local name=$1 access=$2 errfile=$3 port dir=${4:-} t0 t1 st=""
    port=$(free_port)
    [[ -n $port ]] || exit 1
    [[ -n $dir ]] || dir=$(mktemp -d "$WORK/data-$name.XXXXXX")
    DATA_DIR=$dir
    SERVER_PORT[$name]=$port
    SERVER_LOG[$name]=$errfile
    SERVER_PID[$name]=
    t0=$(now_us)
    GATEHOUSE_LISTEN="127.0.0.1:$port" \
        GATEHOUSE_DATA_DIR="$dir" \
        GATEHOUSE_DATABASE="$dir/gatehouse.db" \
        GATEHOUSE_ADMIN_TOKEN="$TOKEN" \
        GATEHOUSE_MASTER_KEY="$MASTER_KEY" \
        GATEHOUSE_ACCESS_LOG="$access" \
        "$BIN" serve </dev/null >>"$WORK/stdout-$name.txt" 2>"$errfile" &
    PID=$!
    SERVER_PID[$name]=$PID
    LIVE_PIDS+=("$PID")
    local deadline=$((SECONDS + 10))
    while :; do
        http_status "$port" /healthz/ready
        st=$HS
        if [[ $st == 200 ]]; then
            t1=$(now_us)
            break
        fi
        if ! kill -0 "$PID" 2>/dev/null; then
            wait "$PID" || true
            echo "bench: gatehouse serve ($name) exited before it was ready; stderr:" >&2
            cat "$errfile" >&2 || true
            exit 1
        fi
        ((SECONDS < deadline)) || die "gatehouse serve ($name) not ready within 10 s (last status: ${st:-none})"
        tick
    done
    START_US=$((t1 - t0))
}

# stop_server PID: SIGTERM, wait up to 15 s (grace is 10 s), then SIGKILL.
# Sets STOP_CODE (exit status) and STOP_MS.
stop_server() {
    local pid=$1 t0 i
    t0=$(now_us)
    STOP_CODE=""
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 15000; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            tick
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "bench: server $pid ignored SIGTERM for 15 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null && STOP_CODE=0 || STOP_CODE=$?
    STOP_MS=$((($(now_us) - t0) / 1000))
    local keep=() p
    for p in "${LIVE_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    LIVE_PIDS=("${keep[@]}")
}

cleanup() {
    local p
    if [[ -n ${WRK_PID:-} ]]; then
        kill -TERM "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
    fi
    for p in "${LIVE_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${LIVE_PIDS[@]}"; do
        for ((i = 0; i < 300; i++)); do
            kill -0 "$p" 2>/dev/null || break
            tick 0.01
        done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ms_from_us() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }

# kv LINE KEY: the value of KEY=value in a BENCH line.
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# server_alive WHAT: dies with the exit status and the end of stderr when the
# current server ($CUR) is gone, e.g. crashed under load.
server_alive() {
    local pid=${SERVER_PID[$CUR]} code=0
    kill -0 "$pid" 2>/dev/null && return 0
    wait "$pid" 2>/dev/null || code=$?
    echo "bench: SERVER DIED during: $1 (exit status $code$( ((code > 128)) && echo ", signal $((code - 128))"))" >&2
    echo "bench: last lines of its stderr:" >&2
    tail -n 20 "${SERVER_LOG[$CUR]}" >&2 2>/dev/null || true
    exit 1
}

# run_wrk LABEL CONNS URL-PATH SCRIPT [wrk args...] [-- script args]:
# runs wrk and sets BL (the BENCH line) and BSAMPLE.
run_wrk() {
    local label=$1 conns=$2 path=$3 script=$4 out dur=${WRK_DUR:-$DURATION} thr=${WRK_THREADS:-$THREADS}
    shift 4
    local port=${SERVER_PORT[$CUR]} opts=() sargs=()
    while (($#)) && [[ $1 != -- ]]; do
        opts+=("$1")
        shift
    done
    if (($#)); then
        shift
        sargs=(-- "$@")
    fi
    out="$WORK/wrk-$(tr -c 'a-zA-Z0-9' _ <<<"$label").txt"
    echo "bench: wrk $label (-t$thr -c$conns -d${dur}s)" >&2
    # In the background so that a signal to this script is handled at once
    # (bash defers traps while a foreground child runs); cleanup() stops it.
    wrk -t"$thr" -c"$conns" -d"${dur}s" --latency -s "$BENCH/$script" "${opts[@]}" \
        "http://127.0.0.1:$port$path" "${sargs[@]}" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || {
        cat "$out" >&2
        die "wrk failed for $label"
    }
    WRK_PID=""
    {
        echo "===== $label: wrk -t$thr -c$conns -d${dur}s ${opts[*]} $path ($script ${sargs[*]})"
        cat "$out"
        echo
    } | sed "s/$TOKEN/<token>/g" >>"$RAW"
    server_alive "$label"
    BL=$(grep -m1 '^BENCH ' "$out") || die "no summary from wrk for $label"
    BSAMPLE=$(sed -n 's/^BENCH_SAMPLE //p' "$out" | head -1)
}

# ---------------------------------------------------------------- build

if [[ ${BENCH_NO_BUILD:-} == 1 ]]; then
    echo "bench: BENCH_NO_BUILD=1: using the existing $BIN" >&2
else
    echo "bench: building" >&2
    bash scripts/build.sh >"$WORK/build.log" 2>&1 || {
        cat "$WORK/build.log" >&2
        die "build failed"
    }
fi
[[ -x $BIN ]] || die "$BIN was not built"
# Run a copy, so that a rebuild in the tree during the run (ninja replaces the
# file) cannot swap or remove the binary under the benchmark.
cp "$BIN" "$WORK/gatehouse"
BIN=$WORK/gatehouse
NLIBS=$(ldd "$BIN" 2>/dev/null | grep -vc 'linux-vdso' || true)

echo "bench: compiling bench/argon2_rate.c" >&2
cc -O2 -I"$ROOT/src/base" -I"$ROOT/src/proto" "$BENCH/argon2_rate.c" "$ROOT/src/proto/gh_password.c" -o "$WORK/argon2_rate" \
    -lsodium -largon2 -lpthread ||
    die "cannot compile bench/argon2_rate.c (libsodium-dev installed?)"

TOKEN=$(rand_hex 24)
MASTER_KEY=$(rand_hex 32)
((${#TOKEN} >= 16 && ${#MASTER_KEY} == 64)) || die "cannot make secrets"

# ---------------------------------------------------------------- machine

NPROC=$(nproc)
CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
[[ -n $CPU ]] || CPU=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
MEM_GIB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
WRK_VER=$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')
if (wrk -v 2>&1 || true) | grep -q -- '-R'; then WRK_RATE="has -R"; else WRK_RATE="no -R option: cannot hold a fixed request rate"; fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RUN_DATE=$(date -u '+%Y-%m-%d %H:%M:%SZ')
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT+uncommitted changes"

# How idle the machine is, from /proc/stat over 1 s: other work on a shared
# machine skews every figure below.
cpu_idle_pct() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 1
    b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        n = split(a, x); split(b, y); t = 0
        for (i = 2; i <= n; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%.0f%%", (t > 0 ? 100 * idle / t : 0) }'
}
IDLE_BEFORE=$(cpu_idle_pct)

# Raw argon2id rate, with no server running; measured again right after the
# password sign-ups, since on a shared machine the rate drifts.
argon2_rate() {
    local out
    echo "bench: argon2id rate (${ARGON2_SECONDS}s on $NPROC threads)" >&2
    out=$("$WORK/argon2_rate" "$ARGON2_SECONDS" "$NPROC" "$ARGON2_KIB" "$ARGON2_OPS" gatehouse) ||
        die "argon2_rate failed"
    echo "===== argon2_rate: $out" >>"$RAW"
    A2_LINE=$out
    A2=$(kv " $out" hashes_per_s)
}
argon2_rate
A2_BEFORE=$A2

# ---------------------------------------------------------------- start to ready

# The floor under start-to-ready: spawning a process that loads the same
# libraries and exits at once (`gatehouse version`), timed the same way.
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
FLOOR_LIST=()
for ((s = 1; s <= STARTS; s++)); do
    t0=$(now_us)
    "$BIN" version >"$WORK/version.txt" 2>&1 ||
        die "gatehouse version failed: $(head -c 300 "$WORK/version.txt")"
    FLOOR_LIST+=($(($(now_us) - t0)))
done
FLOOR_MED=$(ms_from_us "$(printf '%s\n' "${FLOOR_LIST[@]}" | median)")

# Each fresh start is followed by a restart on the same, now initialised,
# data directory: first-start work (migrations, key generation) shows up as
# the difference between the two.
echo "bench: $STARTS fresh starts, each followed by a restart" >&2
START_LIST=()
SELF_LIST=()
RESTART_LIST=()
RESELF_LIST=()
STOP_LIST=()
PROBLEMS=()
startup_ms() { grep -o '"startup_ms":[0-9]*' "$1" | head -1 | cut -d: -f2 || true; }
for ((s = 1; s <= STARTS; s++)); do
    CUR=start$s
    start_server "$CUR" off "$WORK/stderr-$CUR.txt"
    START_LIST+=("$START_US")
    self=$(startup_ms "$WORK/stderr-$CUR.txt")
    SELF_LIST+=("${self:-?}")
    stop_server "$PID"
    STOP_LIST+=("$STOP_MS")
    [[ $STOP_CODE == 0 ]] || PROBLEMS+=("start $s: exit status $STOP_CODE after SIGTERM")
    CUR=restart$s
    start_server "$CUR" off "$WORK/stderr-$CUR.txt" "$DATA_DIR"
    RESTART_LIST+=("$START_US")
    self=$(startup_ms "$WORK/stderr-$CUR.txt")
    RESELF_LIST+=("${self:-?}")
    stop_server "$PID"
    [[ $STOP_CODE == 0 ]] || PROBLEMS+=("restart $s: exit status $STOP_CODE after SIGTERM")
done
ms_list() { for u in "$@"; do ms_from_us "$u"; echo; done | paste -sd' '; }
START_MED=$(ms_from_us "$(printf '%s\n' "${START_LIST[@]}" | median)")
START_ALL=$(ms_list "${START_LIST[@]}")
RESTART_MED=$(ms_from_us "$(printf '%s\n' "${RESTART_LIST[@]}" | median)")
RESTART_ALL=$(ms_list "${RESTART_LIST[@]}")
STOP_MED=$(printf '%s\n' "${STOP_LIST[@]}" | median)

# ---------------------------------------------------------------- main server

CUR=main
start_server main off "$WORK/stderr-main.txt"
MAIN_PID=$PID
MAIN_PORT=${SERVER_PORT[main]}
sleep 1
server_alive "the idle second after start"
IDLE_KIB=$(status_kib "$MAIN_PID" VmRSS)
IDLE_ANON_KIB=$(status_kib "$MAIN_PID" RssAnon)
IDLE_FILE_KIB=$(status_kib "$MAIN_PID" RssFile)
IDLE_THREADS=$(status_kib "$MAIN_PID" Threads)

declare -A R_RPS R_P50 R_P99 R_CONNS R_ERR R_NON2XX
record() { # record KEY CONNS: from BL
    local e
    R_CONNS[$1]=$2
    R_RPS[$1]=$(kv "$BL" rps)
    R_P50[$1]=$(ms_from_us "$(kv "$BL" p50_us)")
    R_P99[$1]=$(ms_from_us "$(kv "$BL" p99_us)")
    e="sock $(($(kv "$BL" err_connect) + $(kv "$BL" err_read) + $(kv "$BL" err_write))), timeout $(kv "$BL" err_timeout)"
    if [[ $BL == *" non2xx="* ]]; then
        R_NON2XX[$1]=$(kv "$BL" non2xx)
        e="non-2xx ${R_NON2XX[$1]}, $e"
    else
        e="status>=400 $(kv "$BL" err_status), $e"
    fi
    R_ERR[$1]=$e
}

run_wrk "GET /healthz/ready c$GET_CONNS" "$GET_CONNS" /healthz/ready healthz.lua
record get_peak "$GET_CONNS"
PEAK=${R_RPS[get_peak]}

# The same run against a second server with the access log on (to /dev/null),
# straight after the first so both see the same machine.
CUR=alog
start_server alog on /dev/null
ALOG_PID=$PID
run_wrk "GET /healthz/ready c$GET_CONNS, access log on" "$GET_CONNS" /healthz/ready healthz.lua
record get_alog "$GET_CONNS"
stop_server "$ALOG_PID"
[[ $STOP_CODE == 0 ]] || PROBLEMS+=("access-log server: exit status $STOP_CODE after SIGTERM")
CUR=main

run_wrk "GET /healthz/ready c$LOW_CONNS" "$LOW_CONNS" /healthz/ready healthz.lua
record get_low "$LOW_CONNS"
# One connection, one wrk thread: the lightest closed loop there is.
WRK_THREADS=1 run_wrk "GET /healthz/ready c1" 1 /healthz/ready healthz.lua
record get_one 1


# One create by hand first: proves the request shape before wrk repeats it.
AUTH="Authorization: Bearer $TOKEN"
CT="Content-Type: application/scim+json"
probe=$(curl -sS -o "$WORK/probe.json" -w '%{http_code}' -X POST -H "$AUTH" -H "$CT" \
    --data '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench-probe@example.com","password":"Quartz-probe-Meadow-7391"}' \
    "http://127.0.0.1:$MAIN_PORT/scim/v2/Users") || {
    server_alive "the probe POST"
    die "probe POST failed"
}
server_alive "the probe POST"
[[ $probe == 201 ]] || die "probe POST /scim/v2/Users answered $probe: $(head -c 400 "$WORK/probe.json")"

TAG=$(rand_hex 3)
run_wrk "POST /scim/v2/Users no password" "$SCIM_CONNS" /scim/v2/Users scim_users.lua \
    --timeout 30s -H "$AUTH" -H "$CT" -- "np$TAG" nopassword
record scim_nopw "$SCIM_CONNS"
NP_OK=$(($(kv "$BL" requests) - $(kv "$BL" non2xx)))
NP_CODES=$(kv "$BL" codes)
NP_SAMPLE=$BSAMPLE

run_wrk "POST /scim/v2/Users with password" "$SCIM_CONNS" /scim/v2/Users scim_users.lua \
    --timeout 30s -H "$AUTH" -H "$CT" -- "pw$TAG" password
record scim_pw "$SCIM_CONNS"
PW_OK=$(($(kv "$BL" requests) - $(kv "$BL" non2xx)))
PW_CODES=$(kv "$BL" codes)
PW_SAMPLE=$BSAMPLE

# Requests wrk abandoned at the end may still be finishing on the server.
sleep 1
server_alive "the wait after the SCIM runs"
argon2_rate
A2_AFTER=$A2
A2_RATE=$(awk -v a="$A2_BEFORE" -v b="$A2_AFTER" 'BEGIN {printf "%.1f", (a > b ? a : b)}')
PEAK_KIB=$(status_kib "$MAIN_PID" VmHWM)
AFTER_KIB=$(status_kib "$MAIN_PID" VmRSS)
DB_USERS=$(curl -sS -H "$AUTH" "http://127.0.0.1:$MAIN_PORT/scim/v2/Users?count=1" |
    grep -o '"totalResults": *[0-9]*' | grep -o '[0-9]*$' || true)
stop_server "$MAIN_PID"
[[ $STOP_CODE == 0 ]] || PROBLEMS+=("main server: exit status $STOP_CODE after SIGTERM")

# ---------------------------------------------------------------- report

verdict() { # verdict VALUE LIMIT: "ok" or "MISSED"
    awk -v v="$1" -v l="$2" 'BEGIN {print ((v + 0 < l + 0) ? "ok" : "MISSED")}'
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a"}'; }

IDLE_MIB=$(mib "$IDLE_KIB")
PEAK_MIB=$(mib "$PEAK_KIB")
AFTER_MIB=$(mib "$AFTER_KIB")
SIGNUP_PCT=$(pct "${R_RPS[scim_pw]}" "$A2_RATE")

# Server stderr: anything at warn or error level, and any non-JSON line,
# once per distinct line (timestamps removed) with the servers that logged it.
while IFS= read -r line; do
    PROBLEMS+=("server log: $line")
done < <(
    for f in "$WORK"/stderr-*.txt; do
        n=$(basename "$f" .txt)
        grep -E '"level":"(warn|error)"|^[^{]' "$f" | head -20 |
            sed -e 's/"ts":"[^"]*",//' -e "s/^/${n#stderr-}\t/" || true
    done | awk -F'\t' '{if (!($2 in seen)) {order[++n] = $2}; seen[$2] = seen[$2] (seen[$2] ? "," : "") $1}
        END {for (i = 1; i <= n; i++) printf "%s  [servers: %s]\n", order[i], seen[order[i]]}'
)
for k in scim_nopw scim_pw; do
    [[ ${R_ERR[$k]} == "non-2xx 0, sock 0, timeout 0" ]] || PROBLEMS+=("$k: ${R_ERR[$k]}")
done
[[ $NP_CODES == - ]] || PROBLEMS+=("no-password creates, non-2xx by status: $NP_CODES; first body: $NP_SAMPLE")
[[ $PW_CODES == - ]] || PROBLEMS+=("password creates, non-2xx by status: $PW_CODES; first body: $PW_SAMPLE")
for k in get_peak get_low get_one get_alog; do
    [[ ${R_ERR[$k]} == "status>=400 0, sock 0, timeout 0" ]] || PROBLEMS+=("$k: ${R_ERR[$k]}")
done
EXPECT_USERS=$((1 + NP_OK + PW_OK))
if [[ -z $DB_USERS ]]; then
    PROBLEMS+=("could not read totalResults from GET /scim/v2/Users")
elif ((DB_USERS < EXPECT_USERS)); then
    PROBLEMS+=("users in the database ($DB_USERS) < 2xx creates ($EXPECT_USERS): acknowledged creates are missing")
fi

row() { printf '  %-42s %8s %10s %9s %9s   %s\n' "$@"; }

{
    echo "Gatehouse benchmark  $RUN_DATE  commit $COMMIT"
    echo
    echo "Machine"
    printf '  %-30s %s\n' "cores (nproc)" "$NPROC"
    printf '  %-30s %s\n' "CPU" "$CPU"
    printf '  %-30s %s GiB\n' "memory" "$MEM_GIB"
    printf '  %-30s %s\n' "kernel" "$(uname -r)"
    printf '  %-30s %s\n' "wrk" "$WRK_VER, $WRK_RATE"
    printf '  %-30s %s hashes/s: %s before the load runs, %s right after the sign-ups\n' \
        "raw argon2id (best of 2)" "$A2_RATE" "$A2_BEFORE" "$A2_AFTER"
    printf '  %-30s %s threads, m=%s KiB, t=%s, p=1, %ss each, libsodium %s\n' "" \
        "$(kv " $A2_LINE" threads)" "$ARGON2_KIB" "$ARGON2_OPS" "$ARGON2_SECONDS" "$(kv " $A2_LINE" libsodium)"
    echo
    printf '  %-30s %s (start) / %s (end)\n' "load average 1/5/15 min" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '  %-30s %s\n' "CPU idle in 1 s before start" "$IDLE_BEFORE"
    awk -v i="${IDLE_BEFORE%\%}" -v a="$A2_BEFORE" -v b="$A2_AFTER" 'BEGIN {
        if (i < 80) print "  WARNING: other work was using the CPUs when the run started; figures are noisy"
        if (a > 0 && b > 0 && (a / b > 1.25 || b / a > 1.25))
            print "  WARNING: the argon2id rate moved more than 25% during the run; CPU available to it varied" }'
    echo
    echo "Process                                         value       target"
    printf '  %-42s %9s   %-10s %s\n' "start to ready, median of $STARTS (ms)" "$START_MED" "< 100" \
        "$(verdict "$START_MED" 100)"
    printf '  %-42s %s\n' "  each start (ms)" "$START_ALL"
    printf '  %-42s %s\n' "  server's own startup_ms (log)" "${SELF_LIST[*]}"
    printf '  %-42s %9s   (not a target; same dirs, second start)\n' "restart on the initialised data dir (ms)" "$RESTART_MED"
    printf '  %-42s %s\n' "  each restart (ms)" "$RESTART_ALL"
    printf '  %-42s %s\n' "  server's own startup_ms (log)" "${RESELF_LIST[*]}"
    printf '  %-42s %s (%s shared libraries, by ldd)\n' "  exec floor: gatehouse version, median (ms)" \
        "$FLOOR_MED" "$NLIBS"
    printf '  %-42s %s\n' "  SIGTERM to exit, median (ms)" "$STOP_MED"
    printf '  %-42s %9s   %-10s %s\n' "idle RSS after ready + 1 s (MiB)" "$IDLE_MIB" "< 10" \
        "$(verdict "$IDLE_MIB" 10)"
    printf '  %-42s anon %s, file-backed %s (shared libraries, binary)\n' "  of which (MiB)" \
        "$(mib "$IDLE_ANON_KIB")" "$(mib "$IDLE_FILE_KIB")"
    printf '  %-42s %s\n' "  threads at idle" "$IDLE_THREADS"
    printf '  %-42s %9s\n' "peak RSS, VmHWM after load (MiB)" "$PEAK_MIB"
    printf '  %-42s %9s\n' "RSS after load + 1 s (MiB)" "$AFTER_MIB"
    echo
    echo "Load (wrk -t$THREADS, ${DURATION}s each; latency in ms)"
    row "" conns "req/s" p50 p99 "errors"
    row "GET /healthz/ready" "${R_CONNS[get_peak]}" "${R_RPS[get_peak]}" \
        "${R_P50[get_peak]}" "${R_P99[get_peak]}" "${R_ERR[get_peak]}"
    row "GET /healthz/ready, access log -> /dev/null" "${R_CONNS[get_alog]}" "${R_RPS[get_alog]}" \
        "${R_P50[get_alog]}" "${R_P99[get_alog]}" "${R_ERR[get_alog]}"
    row "GET /healthz/ready, low concurrency (*)" "${R_CONNS[get_low]}" "${R_RPS[get_low]}" \
        "${R_P50[get_low]}" "${R_P99[get_low]}" "${R_ERR[get_low]}"
    row "GET /healthz/ready, one connection (*)" "1 (t1)" "${R_RPS[get_one]}" \
        "${R_P50[get_one]}" "${R_P99[get_one]}" "${R_ERR[get_one]}"
    row "POST /scim/v2/Users, no password" "${R_CONNS[scim_nopw]}" "${R_RPS[scim_nopw]}" \
        "${R_P50[scim_nopw]}" "${R_P99[scim_nopw]}" "${R_ERR[scim_nopw]}"
    row "POST /scim/v2/Users, with password" "${R_CONNS[scim_pw]}" "${R_RPS[scim_pw]}" \
        "${R_P50[scim_pw]}" "${R_P99[scim_pw]}" "${R_ERR[scim_pw]}"
    echo
    echo "  (*) p99 at reduced load: wrk $WRK_VER has no -R, so it cannot hold half the peak"
    printf '      rate. Instead, closed loops at -c%s and at -t1 -c1 ran at %s and %s of the -c%s peak.\n' \
        "$LOW_CONNS" "$(pct "${R_RPS[get_low]}" "$PEAK")" "$(pct "${R_RPS[get_one]}" "$PEAK")" "$GET_CONNS"
    printf '  sign-ups with password: %s req/s = %s of raw argon2id (%s hashes/s)\n' \
        "${R_RPS[scim_pw]}" "$SIGNUP_PCT" "$A2_RATE"
    printf '  non-2xx responses: no password %s (%s), with password %s (%s)\n' \
        "${R_NON2XX[scim_nopw]}" "$NP_CODES" "${R_NON2XX[scim_pw]}" "$PW_CODES"
    printf '  users in database after the runs: %s (2xx creates: %s)\n' "${DB_USERS:-?}" "$EXPECT_USERS"
    echo
    if ((${#PROBLEMS[@]} == 0)); then
        echo "Server problems and warnings: none (no warn/error log lines, clean exits, all 2xx)"
    else
        echo "Server problems and warnings (warn/error log lines, bad exits, non-2xx, lost writes):"
        for p in "${PROBLEMS[@]}"; do echo "  - $p"; done
    fi
    MISSED=()
    [[ $(verdict "$START_MED" 100) == ok ]] || MISSED+=("start to ready ${START_MED} ms (target < 100 ms)")
    [[ $(verdict "$IDLE_MIB" 10) == ok ]] || MISSED+=("idle RSS ${IDLE_MIB} MiB (target < 10 MiB)")
    if ((${#MISSED[@]})); then
        echo
        echo "Targets missed:"
        for m in "${MISSED[@]}"; do echo "  - $m"; done
    fi
    echo
    echo "Raw wrk output: bench/results/latest-raw.txt"
} | tee "$RESULTS/latest.txt"
