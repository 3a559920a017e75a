#!/usr/bin/env bash
# Shows that scripts/check-format fails on a file clang-format would change and
# passes once --fix has rewritten it. The files live in a fresh directory with
# a copy of the repository's .clang-format beside them, as clang-format's
# --style=file looks for it next to the file.
#   format_self_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1
work=$(mktemp -d "$2/format-self-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src/.clang-format" "$work/"
printf 'int  f( int a ){\nreturn a+1 ;}\n' >"$work/bad.cpp"
if out=$("$src/scripts/check-format" "$work/bad.cpp" 2>&1); then
  echo "format-self-test: check-format passed an unformatted file" >&2
  exit 1
fi
grep -q "bad.cpp is not formatted" <<<"$out" || { echo "format-self-test: unexpected report: $out" >&2; exit 1; }
"$src/scripts/check-format" --fix "$work/bad.cpp"
"$src/scripts/check-format" "$work/bad.cpp" | grep -q "1 files formatted"
echo "format-self-test: check-format refuses an unformatted file and accepts it after --fix"
