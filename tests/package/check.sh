#!/usr/bin/env bash
# Installs the Debian package, checks what it set up, runs the installed
# server as the gatehouse user with the packaged config until /healthz/ready
# answers 200, stops it, verifies the systemd unit, and purges the package.
#   tests/package/check.sh [DEB]     without DEB, builds it (scripts/package.sh)
# Needs root or sudo: it installs a package and runs a process as another
# user. Refuses to run where gatehouse is already installed, so it never
# removes somebody's installation. Leaves the machine as it found it: the
# package purged, and the gatehouse user removed when this run created it.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export DEBIAN_FRONTEND=noninteractive

# Root here; elsewhere sudo, without a password prompt (no stdin in CI).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

fails=0
ok() { echo "ok: $*"; }
bad() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
check() { # description, command...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

deb=${1:-}
if [ -z "$deb" ]; then
  deb=$(scripts/package.sh | tail -1) || {
    echo "check: scripts/package.sh failed" >&2
    exit 1
  }
fi
[ -f "$deb" ] || {
  echo "check: no package at $deb" >&2
  exit 1
}
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")

if [ "$(dpkg-query -W -f='${Status}' gatehouse 2>/dev/null)" != "" ] &&
  [ "$(dpkg-query -W -f='${db:Status-Status}' gatehouse 2>/dev/null)" != "not-installed" ]; then
  echo "check: gatehouse is already installed here; not touching it" >&2
  exit 1
fi

conf=/etc/gatehouse/gatehouse.conf
state=/var/lib/gatehouse
key=$state/master.key
unit=/lib/systemd/system/gatehouse.service

user_existed=0
getent passwd gatehouse >/dev/null && user_existed=1
work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-pkgcheck-XXXXXX")
pid=""

cleanup() {
  if [ -n "$pid" ]; then
    as_root kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
  fi
  as_root dpkg --purge gatehouse >"$work/purge.log" 2>&1 || cat "$work/purge.log"
  if [ "$user_existed" -eq 0 ] && getent passwd gatehouse >/dev/null; then
    as_root userdel gatehouse 2>/dev/null
    getent group gatehouse >/dev/null && as_root groupdel gatehouse 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Install (apt resolves the shared libraries; all are local here).
if ! as_root apt-get install -y -qq --no-install-recommends "$deb" >"$work/install.log" 2>&1; then
  cat "$work/install.log"
  echo "check: installing $deb failed" >&2
  exit 1
fi
ok "installed $(dpkg-query -W -f='${Package} ${Version}' gatehouse)"

# 2. What the package set up.
mode_of() { as_root stat -c '%U:%G %a' "$1" 2>/dev/null; }
check "/usr/bin/gatehouse runs" /usr/bin/gatehouse version
pw=$(getent passwd gatehouse)
check "system user gatehouse exists" test -n "$pw"
IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
check "gatehouse is a system uid ($uid)" test "${uid:-0}" -gt 0 -a "${uid:-1000}" -lt 1000
check "gatehouse's home is $state" test "$home" = "$state"
check "gatehouse cannot log in ($shell)" test "$shell" = /usr/sbin/nologin
has_group() { getent group gatehouse >/dev/null; }
check "group gatehouse exists" has_group
check "$conf is a conffile" grep -q "^ $conf " <<<"$(dpkg-query -W -f='${Conffiles}\n' gatehouse)"
check "$conf is root:gatehouse 640" test "$(mode_of $conf)" = "root:gatehouse 640"
check "$state is gatehouse:gatehouse 700" test "$(mode_of $state)" = "gatehouse:gatehouse 700"
check "$key is gatehouse:gatehouse 600" test "$(mode_of $key)" = "gatehouse:gatehouse 600"
check "$key holds 64 hex characters and a newline" \
  test "$(as_root cat $key | grep -cxE '[0-9a-f]{64}')" = 1 -a "$(as_root wc -c <$key)" = 65
check "the unit file is installed" test -f "$unit"
key_sum=$(as_root sha256sum "$key" | cut -d' ' -f1)

# 3. The installed binary as the gatehouse user with the packaged config.
# env -i: only the packaged settings, plus a free port (8080 may be taken).
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
run_as_gatehouse() { # extra env assignments..., then the command
  (cd / && as_root runuser -u gatehouse -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    GATEHOUSE_CONFIG=$conf "GATEHOUSE_LISTEN=127.0.0.1:$port" "GATEHOUSE_ISSUER=http://localhost:$port" \
    "$@")
}
run_as_gatehouse /usr/bin/gatehouse serve >"$work/serve.log" 2>&1 &
pid=$!
code=""
for _ in $(seq 1 150); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/healthz/ready")
  [ "$code" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
check "GET /healthz/ready answers 200 on port $port (got ${code:-nothing})" test "$code" = 200
# The process that listens on the port (runuser is its parent).
server=$(as_root ss -ltnpH "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
check "the listening process runs /usr/bin/gatehouse as gatehouse" \
  test "$(stat -c %U "/proc/${server:-0}" 2>/dev/null) $(tr '\0' ' ' <"/proc/${server:-0}/cmdline" 2>/dev/null)" \
  = "gatehouse /usr/bin/gatehouse serve "
check "the database is $state/gatehouse.db, owned by gatehouse" \
  test "$(mode_of $state/gatehouse.db | cut -d' ' -f1)" = "gatehouse:gatehouse"
# SIGTERM to the server (runuser forwards it too, should the lookup miss);
# KILL after 30 s so a hung shutdown fails the check instead of the CI run.
as_root kill -TERM "${server:-$pid}" 2>/dev/null
for _ in $(seq 1 150); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$pid" 2>/dev/null && as_root kill -KILL "$pid" ${server:+"$server"}
wait "$pid"
rc=$?
pid=""
check "SIGTERM stops it with status 0 (got $rc)" test "$rc" = 0
check "the server kept the packaged master key" \
  test "$(as_root sha256sum "$key" | cut -d' ' -f1)" = "$key_sum"
if [ "$fails" -gt 0 ]; then
  echo "--- server log"
  tail -20 "$work/serve.log"
fi

# Without its key file the server must refuse to start, not make a new key
# (the data would no longer decrypt).
as_root mv "$key" "$key.moved"
run_as_gatehouse /usr/bin/gatehouse serve >"$work/nokey.log" 2>&1 &
pid=$!
wait "$pid"
rc=$?
pid=""
check "without $key the server exits non-zero (got $rc)" test "$rc" -ne 0
check "... saying the key file does not exist" grep -q 'MASTER_KEY_FILE.*does not exist' "$work/nokey.log"
check "... and makes no new key" as_root test ! -e "$key"
as_root mv "$key.moved" "$key"

# Reinstalling (postinst configure with the old version, as an upgrade runs
# it) keeps the key, an edited config and the modes.
echo "# edited by tests/package/check.sh" | as_root tee -a "$conf" >/dev/null
if as_root dpkg -i --force-confold "$deb" >"$work/reinstall.log" 2>&1; then
  ok "reinstalled over itself"
else
  cat "$work/reinstall.log"
  bad "reinstall"
fi
check "the reinstall kept the master key" \
  test "$(as_root sha256sum "$key" | cut -d' ' -f1)" = "$key_sum"
check "the reinstall kept the edited config" grep -q 'edited by tests/package/check.sh' "$conf"
check "... and its mode root:gatehouse 640" test "$(mode_of $conf)" = "root:gatehouse 640"
check "... and $state gatehouse:gatehouse 700" test "$(mode_of $state)" = "gatehouse:gatehouse 700"

# 4. The unit file. PID 1 is not always systemd here (containers), so the
# service is not started; "systemd-analyze verify" checks it offline.
if command -v systemd-analyze >/dev/null 2>&1; then
  if as_root systemd-analyze verify "$unit" >"$work/verify.log" 2>&1; then
    ok "systemd-analyze verify $unit"
  elif grep -qiE 'not been booted with systemd|failed to connect to bus|System has not been booted' "$work/verify.log"; then
    echo "skip: systemd-analyze verify needs a running systemd here:"
    sed 's/^/  /' "$work/verify.log"
  else
    cat "$work/verify.log"
    bad "systemd-analyze verify $unit"
  fi
else
  echo "skip: no systemd-analyze"
fi

# 5. Purge leaves nothing behind.
if as_root dpkg --purge gatehouse >"$work/purge.log" 2>&1; then
  ok "dpkg --purge gatehouse"
else
  cat "$work/purge.log"
  bad "dpkg --purge gatehouse"
fi
check "purge removed /etc/gatehouse" test ! -e /etc/gatehouse
check "purge removed $state" as_root test ! -e "$state"
check "purge removed the owner/mode overrides" \
  test -z "$(as_root dpkg-statoverride --list | grep gatehouse)"

echo "package check: $fails failed"
[ "$fails" -eq 0 ]
