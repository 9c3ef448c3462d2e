# Shared by bench/signin.sh, bench/oidc.sh and bench/pg.sh (sourced, not run).
# Starts and stops Gatehouse servers and wrk runs, and cleans up everything
# it started on exit. bench/run.sh is older and keeps its own copy of these.
#
# The caller sets `set -euo pipefail`, then calls bench_init NAME, which:
#   - cds to the repository root; sets ROOT, BENCH, RESULTS, WORK (a temp dir)
#   - drops every GATEHOUSE_* variable inherited from the environment
#   - copies build/gatehouse (or $BENCH_BIN) to $WORK (building it first only when missing),
#     so a rebuild in the tree during the run cannot swap the binary
#   - installs the EXIT trap: wrk runs, servers and then any commands the
#     caller added with at_exit are stopped, and $WORK is removed (kept, with
#     its logs, when BENCH_KEEP is set).

die() {
    echo "bench: $*" >&2
    exit 1
}
say() { echo "bench: $*" >&2; }

# at_exit CMD: runs CMD (with eval) during cleanup, after the servers stop.
EXIT_HOOKS=()
at_exit() { EXIT_HOOKS+=("$1"); }

declare -A SERVER_PORT SERVER_LOG SERVER_PID
LIVE_PIDS=() # servers still running
WRK_PIDS=()  # wrk processes still running
PROBLEMS=()  # server problems seen, for the report

bench_init() {
    BENCH_NAME=$1
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    ROOT=$PWD
    BENCH=$ROOT/bench
    RESULTS=$BENCH/results
    local tool
    for tool in wrk curl cc ss jq; do
        command -v "$tool" >/dev/null || die "$tool is not installed"
    done
    while read -r v; do
        [[ $v == GATEHOUSE_* ]] && unset "$v"
    done < <(compgen -e)
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench-$BENCH_NAME.XXXXXX")
    chmod 755 "$WORK" # the postgres user must reach a cluster made inside it
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$RESULTS"
    RAW=$RESULTS/$BENCH_NAME-raw.txt
    : >"$RAW"
    rm -f "$RESULTS/$BENCH_NAME.txt"

    mkfifo "$WORK/tick"
    exec {TICK}<>"$WORK/tick"

    # BENCH_BIN: another binary to measure (bench/chain.sh compares commits)
    local src=${BENCH_BIN:-$ROOT/build/gatehouse}
    if [[ -n ${BENCH_BIN:-} ]]; then
        [[ -x $src ]] || die "BENCH_BIN $src is not an executable"
    elif [[ ! -x $src ]]; then
        say "build/gatehouse is missing: building it"
        bash scripts/build.sh >"$WORK/build.log" 2>&1 || {
            cat "$WORK/build.log" >&2
            die "build failed"
        }
    fi
    cp "$src" "$WORK/gatehouse"
    BIN=$WORK/gatehouse
    BIN_FROM=${BENCH_BIN:-build/gatehouse}
    BIN_DATE=$(date -u -r "$src" '+%Y-%m-%d %H:%M:%SZ')
    TOKEN=$(rand_hex 24)
    MASTER_KEY=$(rand_hex 32)
    ((${#TOKEN} >= 16 && ${#MASTER_KEY} == 64)) || die "cannot make secrets"
    NPROC=$(nproc)
    RUN_DATE=$(date -u '+%Y-%m-%d %H:%M:%SZ')
    COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    git diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT+uncommitted changes"
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    T_START=$SECONDS
}

bench_cleanup() {
    local p i h
    for p in "${WRK_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${WRK_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    for p in "${LIVE_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${LIVE_PIDS[@]}"; do
        for ((i = 0; i < 300; i++)); do
            kill -0 "$p" 2>/dev/null || break
            tick 0.05
        done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    for h in "${EXIT_HOOKS[@]}"; do
        eval "$h" || true
    done
    if [[ -n ${WORK:-} && -n ${BENCH_KEEP:-} ]]; then
        say "kept the work directory: $WORK"
    elif [[ -n ${WORK:-} ]]; then
        rm -rf "$WORK"
    fi
}

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
now_us() { local t=${EPOCHREALTIME//[.,]/}; echo "$t"; }
# A short sleep without a fork: a read that times out on a FIFO held open.
tick() { read -r -t "${1:-0.001}" -u "$TICK" _ || true; }

status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }
mib() { awk -v k="$1" 'BEGIN {if (k == "") print "?"; else printf "%.1f", k / 1024}'; }
ms_from_us() { awk -v u="$1" 'BEGIN {if (u == "") print "?"; else printf "%.2f", u / 1000}'; }
# kv LINE KEY: the value of KEY=value in a key=value line.
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a"}'; }
# ge A B / lt A B: numeric comparisons as exit status
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 < b + 0)}'; }

# A loopback port nothing listens on right now.
free_port() {
    local used port i probe
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

# http_status PORT PATH: sets HS to the status of GET PATH ("" if no answer).
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

# start_gh NAME DATABASE [VAR=VALUE...]: starts `gatehouse serve` on a free
# loopback port with its own data dir, the run's admin token and master key,
# the access log off, plus any extra settings; waits for /healthz/ready.
# DATABASE: a SQLite path or a postgresql:// URL. Sets PID and PORT.
# start_gh NAME DB [VAR=VALUE...]: one server. wrk drives it from one
# address, so the per-address connection cap (a defence, issue 15) is off
# unless the caller sets it.
start_gh() {
    local name=$1 db=$2 port dir st=""
    shift 2
    port=$(free_port)
    dir=$WORK/data-$name
    mkdir -p "$dir"
    SERVER_PORT[$name]=$port
    SERVER_LOG[$name]=$WORK/stderr-$name.txt
    env GATEHOUSE_LISTEN="127.0.0.1:$port" \
        GATEHOUSE_DATA_DIR="$dir" \
        GATEHOUSE_DATABASE="$db" \
        GATEHOUSE_ADMIN_TOKEN="$TOKEN" \
        GATEHOUSE_MASTER_KEY="$MASTER_KEY" \
        GATEHOUSE_ACCESS_LOG=off \
        GATEHOUSE_MAX_CONNECTIONS_PER_IP=0 \
        "$@" "$BIN" serve </dev/null >>"$WORK/stdout-$name.txt" 2>>"${SERVER_LOG[$name]}" &
    PID=$!
    PORT=$port
    SERVER_PID[$name]=$PID
    LIVE_PIDS+=("$PID")
    local deadline=$((SECONDS + 20))
    while :; do
        http_status "$port" /healthz/ready
        st=$HS
        [[ $st == 200 ]] && break
        if ! kill -0 "$PID" 2>/dev/null; then
            wait "$PID" || true
            echo "bench: gatehouse serve ($name) exited before it was ready; stderr:" >&2
            tail -20 "${SERVER_LOG[$name]}" >&2 || true
            exit 1
        fi
        ((SECONDS < deadline)) || die "gatehouse serve ($name) not ready within 20 s (last status: ${st:-none})"
        tick 0.005
    done
}

# server_alive NAME WHAT: exits with the status and stderr tail when the
# server NAME is gone (crashed under load).
server_alive() {
    local pid=${SERVER_PID[$1]} code=0
    kill -0 "$pid" 2>/dev/null && return 0
    wait "$pid" 2>/dev/null || code=$?
    echo "bench: SERVER $1 DIED during: $2 (exit status $code$( ((code > 128)) && echo ", signal $((code - 128))"))" >&2
    echo "bench: last lines of its stderr:" >&2
    tail -n 20 "${SERVER_LOG[$1]}" >&2 2>/dev/null || true
    exit 1
}

# stop_gh NAME: SIGTERM, up to 15 s, then SIGKILL. A non-zero exit status
# is added to PROBLEMS.
stop_gh() {
    local name=$1 pid=${SERVER_PID[$1]} i code=0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 1500; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            tick 0.01
        done
        if kill -0 "$pid" 2>/dev/null; then
            PROBLEMS+=("server $name ignored SIGTERM for 15 s; killed")
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || code=$?
    ((code == 0)) || PROBLEMS+=("server $name: exit status $code after SIGTERM$( ((code > 128)) && echo " (signal $((code - 128)))")")
    local keep=() p
    for p in "${LIVE_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    LIVE_PIDS=("${keep[@]}")
}

# wrk_start OUT PORT PATH THREADS CONNS SECONDS SCRIPT [wrk args...] [-- script args]:
# starts wrk in the background (so signals reach this script at once);
# sets WPID. wrk_wait WPID OUT LABEL waits and sets BL (the BENCH line) and
# BSAMPLE (first non-2xx body, if the script reports one).
wrk_start() {
    local out=$1 port=$2 path=$3 thr=$4 conns=$5 dur=$6 script=$7
    shift 7
    local opts=() sargs=()
    while (($#)) && [[ $1 != -- ]]; do
        opts+=("$1")
        shift
    done
    if (($#)); then
        shift
        sargs=(-- "$@")
    fi
    {
        echo "===== $(basename "$out" .txt): wrk -t$thr -c$conns -d${dur}s $path ($script${sargs[*]:+ ${sargs[*]}})"
    } >>"$WORK/cmds.txt"
    wrk -t"$thr" -c"$conns" -d"${dur}s" --timeout 10s --latency -s "$BENCH/$script" "${opts[@]}" \
        "http://127.0.0.1:$port$path" "${sargs[@]}" >"$out" 2>&1 &
    WPID=$!
    WRK_PIDS+=("$WPID")
}
wrk_wait() {
    local pid=$1 out=$2 label=$3 rc=0
    wait "$pid" || rc=$?
    local keep=() p
    for p in "${WRK_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    WRK_PIDS=("${keep[@]}")
    {
        echo "===== $label"
        cat "$out"
        echo
    } | sed -e "s/$TOKEN/<admin-token>/g" -e 's/^BENCH_Q .*/BENCH_Q (quantiles omitted)/' >>"$RAW"
    if ((rc != 0)); then
        cat "$out" >&2
        die "wrk failed for $label (exit $rc)"
    fi
    BL=$(grep -m1 '^BENCH ' "$out") || {
        cat "$out" >&2
        die "no summary from wrk for $label"
    }
    BSAMPLE=$(sed -n 's/^BENCH_SAMPLE //p' "$out" | head -1)
}

# errors_of BL: "non-2xx N, sock N, timeout N" (non-2xx from the script's
# count when it has one, else wrk's own count of status >= 400).
errors_of() {
    local bl=$1 n
    n=$(kv "$bl" non2xx)
    [[ -n $n ]] || n=$(kv "$bl" err_status)
    echo "non-2xx $n, sock $(($(kv "$bl" err_connect) + $(kv "$bl" err_read) + $(kv "$bl" err_write))), timeout $(kv "$bl" err_timeout)"
}
errors_clean() { [[ $(errors_of "$1") == "non-2xx 0, sock 0, timeout 0" ]]; }

# The idle share of all CPUs over 1 s, from /proc/stat.
cpu_idle_pct() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 1
    b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        n = split(a, x); split(b, y); t = 0
        for (i = 2; i <= n; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%.0f", (t > 0 ? 100 * idle / t : 0) }'
}

machine_lines() {
    local cpu mem
    cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
    mem=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
    printf '  %-32s %s\n' "cores (nproc)" "$NPROC"
    printf '  %-32s %s\n' "CPU" "${cpu:-?}"
    printf '  %-32s %s GiB\n' "memory" "$mem"
    printf '  %-32s %s\n' "kernel" "$(uname -r)"
    printf '  %-32s %s\n' "binary" "copy of $BIN_FROM built $BIN_DATE"
    printf '  %-32s %s (start) / %s (end)\n' "load average 1/5/15 min" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# Server stderr: warn/error lines and non-JSON lines, each distinct line
# (timestamps removed) once, with the servers that logged it. The expected
# "mail delivery off" warning (no SMTP relay in a benchmark) is left out.
collect_log_problems() {
    local f n line
    while IFS= read -r line; do
        PROBLEMS+=("server log: $line")
    done < <(
        for f in "$WORK"/stderr-*.txt; do
            [[ -e $f ]] || continue
            n=$(basename "$f" .txt)
            grep -E '"level":"(warn|error)"|^[^{]' "$f" | grep -v '"msg":"mail delivery off"' | head -20 |
                sed -e 's/"ts":"[^"]*",//' -e "s/^/${n#stderr-}\t/" || true
        done | awk -F'\t' '{if (!($2 in seen)) {order[++n] = $2}; seen[$2] = seen[$2] (seen[$2] ? "," : "") $1}
            END {for (i = 1; i <= n; i++) printf "%s  [servers: %s]\n", order[i], seen[order[i]]}'
    )
}

print_problems() {
    if ((${#PROBLEMS[@]} == 0)); then
        echo "Server problems: none (no warn/error log lines, clean exits, no non-2xx or socket errors)"
    else
        echo "Server problems (warn/error log lines, bad exits, non-2xx, socket errors):"
        local p
        for p in "${PROBLEMS[@]}"; do echo "  - $p"; done
    fi
}

# A SCIM user create with a password: prints the HTTP status.
scim_create() { # PORT EMAIL PASSWORD
    curl -sS -o /dev/null -w '%{http_code}\n' -X POST \
        -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json" \
        --data "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"$2\",\"name\":{\"givenName\":\"Bench\",\"familyName\":\"User\"},\"emails\":[{\"value\":\"$2\",\"primary\":true}],\"password\":\"$3\"}" \
        "http://127.0.0.1:$1/scim/v2/Users"
}

# session_csrf PORT: GET /api/v1/session; sets PRE (the gh_pre cookie value)
# and CSRF.
session_csrf() {
    local hdr body
    hdr=$WORK/session-headers.txt
    body=$(curl -sS -D "$hdr" "http://127.0.0.1:$1/api/v1/session") || die "GET /api/v1/session failed"
    PRE=$(sed -n 's/^[Ss]et-[Cc]ookie: *gh_pre=\([^;]*\).*/\1/p' "$hdr" | tr -d '\r' | head -1)
    CSRF=$(jq -r .csrf_token <<<"$body")
    [[ -n $PRE && -n $CSRF && $CSRF != null ]] || die "no pre-session cookie or CSRF token from GET /api/v1/session: $body"
}

# register PORT JSON: POST /register with the admin token; prints the body.
register_client() {
    local out code
    out=$(curl -sS -w '\n%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data "$2" "http://127.0.0.1:$1/register") ||
        die "POST /register failed"
    code=${out##*$'\n'}
    [[ $code == 201 ]] || die "POST /register answered $code: ${out%$'\n'*}"
    echo "${out%$'\n'*}"
}

# Registers a protected resource (an API) with its scopes: PORT JSON. A
# client may only be registered for scopes the server knows (docs/resources.md).
register_resource() {
    local out code
    out=$(curl -sS -w '\n%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data "$2" "http://127.0.0.1:$1/admin/v1/resources") ||
        die "POST /admin/v1/resources failed"
    code=${out##*$'\n'}
    [[ $code == 201 ]] || die "POST /admin/v1/resources answered $code: ${out%$'\n'*}"
}

# A client_credentials access token: PORT CLIENT_ID SECRET SCOPE
cc_token() {
    curl -sS -u "$2:$3" --data "grant_type=client_credentials&scope=$4" \
        "http://127.0.0.1:$1/token" | jq -r '.access_token // empty'
}

# ---- how much other work used the CPUs during a run (the machine is shared)
#
# noise_begin PID...: notes /proc/stat, the CPU time of PID... (our servers,
# PostgreSQL) and of this shell's finished children (wrk, curl). noise_end:
# sets NOISE to the share of all CPU time over the span used by anything
# else, and BUSY to the share of all CPU time that was busy, both in %, and
# OWN_US to the CPU time (user + system, us) of PID... over the span.
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
proc_ticks() {
    local p s=0 t
    for p in "$@"; do
        t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
        s=$((s + ${t:-0}))
    done
    echo "$s"
}
# Sets CH_TICKS to the user+system time of this shell's waited-for children.
# `times` must run in this shell itself: in a $(...) subshell it would report
# the subshell's own (empty) children.
children_ticks() {
    times >"$WORK/times.txt"
    CH_TICKS=$(tail -1 "$WORK/times.txt" | awk -v hz="$CLK_TCK" '{
        n = 0
        for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] }
        printf "%d", n * hz }')
}
noise_begin() {
    NZ_PIDS=("$@")
    NZ_STAT=$(head -1 /proc/stat)
    NZ_OWN=$(proc_ticks "${NZ_PIDS[@]}")
    children_ticks
    NZ_CH=$CH_TICKS
}
noise_end() {
    local stat own ch
    stat=$(head -1 /proc/stat)
    own=$(proc_ticks "${NZ_PIDS[@]}")
    children_ticks
    ch=$CH_TICKS
    OWN_US=$(((own - NZ_OWN) * 1000000 / CLK_TCK))
    read -r NOISE BUSY < <(awk -v a="$NZ_STAT" -v b="$stat" -v own=$((own - NZ_OWN + ch - NZ_CH)) 'BEGIN {
        n = split(a, x); split(b, y); t = 0
        for (i = 2; i <= n; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        o = t - idle - own
        if (o < 0) o = 0
        printf "%.0f %.0f\n", (t > 0 ? 100 * o / t : 0), (t > 0 ? 100 * (t - idle) / t : 0) }')
}
# The PIDs of a process and all its descendants (e.g. a PostgreSQL cluster).
pid_tree() {
    local root=$1
    ps -e -o pid=,ppid= | awk -v r="$root" '{p[$1] = $2} END {
        for (k in p) { x = k; while (x != "" && x != r && x in p && p[x] != x) x = p[x]; if (x == r) print k }
        print r }'
}

# merge_pct PCT FILE...: the PCT percentile (us) of the union of several wrk
# runs, from their "BENCH ... requests=N" and "BENCH_Q q:us ..." lines (see
# report.lua): the smallest latency at which the request-weighted sum of the
# runs' distributions reaches PCT.
merge_pct() {
    local pct=$1
    shift
    awk -v want="$pct" '
        /^BENCH / { for (i = 2; i <= NF; i++) if ($i ~ /^requests=/) { split($i, a, "="); w[FILENAME] = a[2] } }
        /^BENCH_Q / { for (i = 2; i <= NF; i++) { split($i, a, ":"); k = FILENAME SUBSEP (++nq[FILENAME]); q[k] = a[1]; v[k] = a[2]; cand[a[2]] = 1 } }
        END {
            tot = 0; for (f in w) tot += w[f]
            if (tot == 0) { print ""; exit }
            # smallest candidate x whose combined CDF reaches 99%
            m = 0
            for (x in cand) { # insertion sort (mawk has no asort)
                y = x + 0; j = ++m
                while (j > 1 && xs[j - 1] > y) { xs[j] = xs[j - 1]; j-- }
                xs[j] = y
            }
            for (j = 1; j <= m; j++) {
                x = xs[j]; F = 0
                for (f in w) {
                    best = 0
                    for (i = 1; i <= nq[f]; i++) if (v[f SUBSEP i] + 0 <= x && q[f SUBSEP i] + 0 > best) best = q[f SUBSEP i] + 0
                    F += w[f] * best / 100
                }
                if (F / tot >= want / 100 - 1e-9) { print x; exit }
            }
            print xs[m]
        }' "$@"
}

# wait_quiet: with BENCH_WAIT_QUIET=N, waits up to N seconds for a second in
# which the CPUs are at least 80% idle (other work on a shared machine skews
# every figure). Off by default.
wait_quiet() {
    local max=${BENCH_WAIT_QUIET:-0} t0=$SECONDS idle
    ((max > 0)) || return 0
    say "waiting up to ${max}s for the CPUs to be >= 80% idle"
    while :; do
        idle=$(cpu_idle_pct)
        ((idle >= 80)) && return 0
        if ((SECONDS - t0 >= max)); then
            say "still busy (${idle}% idle) after ${max}s; going ahead"
            return 0
        fi
    done
}

# check_servers WHAT: server_alive for every server that should be running.
check_servers() {
    local nm p
    for nm in "${!SERVER_PID[@]}"; do
        for p in "${LIVE_PIDS[@]}"; do
            [[ $p == "${SERVER_PID[$nm]}" ]] && server_alive "$nm" "$1"
        done
    done
    return 0
}

# Compiles the machine-limit programs both oidc.sh and mfa.sh print beside
# their figures (signatures/s, TOTP checks/s, WebAuthn assertions/s) into
# $WORK, from the project's own pure modules.
compile_rate_programs() {
    say "compiling bench/sig_rate.c, totp_rate.c and webauthn_rate.c"
    cc -O2 "$BENCH/sig_rate.c" -o "$WORK/sig_rate" -lcrypto -lpthread ||
        die "cannot compile bench/sig_rate.c (libssl-dev installed?)"
    cc -O2 -I"$ROOT/src/base" -I"$ROOT/src/proto" "$BENCH/totp_rate.c" "$ROOT/src/proto/gh_totp.c" \
        "$ROOT/src/base/gh_crypto.c" "$ROOT/src/base/gh_url.c" "$ROOT/src/base/gh_arena.c" \
        -o "$WORK/totp_rate" -loath -lsodium ||
        die "cannot compile bench/totp_rate.c (liboath-dev, libsodium-dev installed?)"
    cc -O2 -I"$ROOT/src/base" -I"$ROOT/src/proto" "$BENCH/webauthn_rate.c" "$ROOT/src/proto/gh_webauthn.c" \
        "$ROOT/src/base/gh_crypto.c" "$ROOT/src/base/gh_json.c" "$ROOT/src/base/gh_utf8.c" \
        "$ROOT/src/base/gh_arena.c" -o "$WORK/webauthn_rate" -lcbor -ljansson -lsodium -lcrypto -lunistring ||
        die "cannot compile bench/webauthn_rate.c (libcbor-dev, libjansson-dev, libunistring-dev installed?)"
}

