#!/usr/bin/env bash
# Fails when a source file includes a header of a higher layer (ARCHITECTURE.md
# "Layers"). The layers, lowest first, are the folders of src/:
#
#   base <- proto <- store <- core <- http <- handlers <- cmd
#
# A file may include headers of its own folder and of any folder to its left;
# since the order is strict, no two folders can include each other. Headers
# are named uniquely (gh_<module>.h), so a quoted include is looked up by name
# across src/*/. An include of a header that is in no folder also fails, so a
# file cannot dodge the check by a relative path.
#
# scripts/layers-pending.txt lists the back-includes left from the move into
# folders (issue 17), one "file header" pair per line; each is reported but
# tolerated until the file is split. A pair that no longer occurs must be
# removed from the list, so it only shrinks.
#
# Usage: scripts/check-layers.sh [ROOT]   (ROOT defaults to the repository)
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root/src"

layers=(base proto store core http handlers cmd)
declare -A rank=()
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

# header name -> folder
declare -A home=()
for dir in "${layers[@]}"; do
  [ -d "$dir" ] || continue
  for h in "$dir"/*.h; do
    [ -e "$h" ] || continue
    name=${h#*/}
    if [ -n "${home[$name]:-}" ]; then
      echo "layers: $name is in both src/${home[$name]} and src/$dir"
      exit 1
    fi
    home[$name]=$dir
  done
done

declare -A pending=()
pending_file="$root/scripts/layers-pending.txt"
if [ -f "$pending_file" ]; then
  while read -r file header; do
    case "$file" in '' | '#'*) continue ;; esac
    pending["$file $header"]=1
  done <"$pending_file"
fi
declare -A seen=()

bad=0
for f in */*.c */*.h; do
  dir=${f%%/*}
  if [ -z "${rank[$dir]:-}" ]; then
    echo "layers: src/$f is in no layer folder (${layers[*]})"
    bad=1
    continue
  fi
  while IFS= read -r inc; do
    target=${home[$inc]:-}
    if [ -z "$target" ]; then
      # a generated header is the only quoted include allowed outside src/*/
      echo "layers: src/$f includes \"$inc\", which is in no layer folder"
      bad=1
    elif [ "${rank[$target]}" -gt "${rank[$dir]}" ]; then
      if [ -n "${pending["$f $inc"]:-}" ]; then
        seen["$f $inc"]=1
        echo "layers: pending: src/$f ($dir) includes $inc ($target)"
      else
        echo "layers: src/$f ($dir) includes $inc of the higher layer $target"
        bad=1
      fi
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done

for pair in "${!pending[@]}"; do
  if [ -z "${seen[$pair]:-}" ]; then
    echo "layers: \"$pair\" no longer occurs: remove it from scripts/layers-pending.txt"
    bad=1
  fi
done

if [ "$bad" -ne 0 ]; then
  echo "layers: a layer includes only its own and lower layers: ${layers[*]}"
  exit 1
fi
echo "layers: every include points to the same or a lower layer"
