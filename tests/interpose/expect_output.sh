#!/bin/sh
# expect_output.sh [--line TEXT]... [--contains TEXT]... [--absent TEXT]... [--status N]
#                  -- COMMAND [ARG]...
# Runs COMMAND, echoes its output, and fails (exit 1) unless it exited with status N (default
# 0), each --line TEXT is a whole line of its output, each --contains TEXT occurs in it, and no
# --absent TEXT does. Output means stdout and stderr together; texts are fixed strings.
set -u

expected_status=0
checks=$(mktemp) || exit 1
out=$(mktemp) || exit 1
err=$(mktemp) || exit 1
trap 'rm -f "$checks" "$out" "$err"' EXIT

# Checks are queued as "kind<TAB>text" lines so that texts may contain spaces and brackets.
while [ $# -gt 0 ]; do
  case $1 in
    --line | --contains | --absent)
      [ $# -ge 2 ] || { echo "expect_output.sh: $1 needs an argument" >&2; exit 2; }
      printf '%s\t%s\n' "${1#--}" "$2" >>"$checks"
      shift 2 ;;
    --status)
      [ $# -ge 2 ] || { echo "expect_output.sh: --status needs an argument" >&2; exit 2; }
      expected_status=$2
      shift 2 ;;
    --) shift; break ;;
    *) echo "expect_output.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "expect_output.sh: no command given" >&2; exit 2; }

echo "+ $*"
"$@" >"$out" 2>"$err"
status=$?
echo "--- stdout"; cat "$out"
echo "--- stderr"; cat "$err"
echo "--- exit status $status"

failed=0
if [ "$status" -ne "$expected_status" ]; then
  echo "FAIL: exit status $status, expected $expected_status"
  failed=1
fi
tab=$(printf '\t')
while IFS="$tab" read -r kind text; do
  case $kind in
    line)
      cat "$out" "$err" | grep -Fxq -- "$text" || { echo "FAIL: missing line: $text"; failed=1; } ;;
    contains)
      cat "$out" "$err" | grep -Fq -- "$text" || { echo "FAIL: missing text: $text"; failed=1; } ;;
    absent)
      if cat "$out" "$err" | grep -Fq -- "$text"; then
        echo "FAIL: unexpected text: $text"
        failed=1
      fi ;;
  esac
done <"$checks"
[ "$failed" -eq 0 ] && echo "PASS: $(wc -l <"$checks") output checks, exit status $status"
exit "$failed"
