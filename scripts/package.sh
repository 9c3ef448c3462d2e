#!/usr/bin/env bash
# Builds the Debian package (debian/) from a copy of the tracked files, so
# the source tree stays as it was, checks it with lintian, and prints the
# path of the .deb on the last line.
#   scripts/package.sh [OUT_DIR]     OUT_DIR defaults to build-deb/
# Tracked files are copied as they are in the working tree (uncommitted
# edits included; untracked files left out). Needs dpkg-dev, debhelper,
# lintian and the Build-Depends of debian/control (scripts/install-deps.sh
# --test installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=${1:-build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT

# dpkg-buildpackage writes its results next to the tree: $work/.
mkdir "$work/gatehouse"
git ls-files -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar -C "$src" --null -T - -cf - | tar -C "$work/gatehouse" -xf -

log=$out/build.log
echo "package: building in $work (log: $log)"
# The source package first, from the clean copy, so lintian can check
# debian/ itself (copyright, rules); only its .dsc is looked at.
(cd "$work" && dpkg-source -b gatehouse) >"$log" 2>&1 || {
  tail -20 "$log"
  echo "package: dpkg-source failed" >&2
  exit 1
}
if ! (cd "$work/gatehouse" && dpkg-buildpackage -us -uc -b) >>"$log" 2>&1; then
  tail -40 "$log"
  echo "package: dpkg-buildpackage failed" >&2
  exit 1
fi

debs=("$work"/gatehouse_*.deb)
[ -f "${debs[0]}" ] || {
  echo "package: no .deb was built" >&2
  exit 1
}
rm -f "$out"/gatehouse_*.deb "$out"/gatehouse-dbgsym_*.deb
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
deb=$out/$(basename "${debs[0]}")

# Errors fail; warnings are printed (debian/source/lintian-overrides says
# why the one left is accepted).
echo "package: lintian"
lintian --fail-on error "$deb" "$work"/gatehouse_*.dsc || {
  echo "package: lintian reported errors" >&2
  exit 1
}
echo "$deb"
