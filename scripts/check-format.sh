#!/usr/bin/env bash
# Fails when a C file is not formatted per .clang-format, or a page script does not parse.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.c' '*.h')
if [ ${#bad[@]} -gt 0 ]; then
  echo "not formatted (run clang-format -i): ${bad[*]}"
  exit 1
fi
echo "format: all C files formatted"
# The hosted pages' scripts must at least parse: a merge that drops a
# brace breaks every page at once.
if command -v node >/dev/null 2>&1; then
  for f in $(git ls-files 'web/*.js' 'web/**/*.js' 'examples/*.mjs' 'examples/**/*.mjs'); do
    node --check "$f" || { echo "does not parse: $f"; exit 1; }
  done
  echo "format: web and example scripts parse"
fi
