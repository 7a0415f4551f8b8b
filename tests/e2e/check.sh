# Sourced by the end-to-end suites: counted checks.
#
# check NAME SNIPPET: runs the shell snippet in its own bash, counts it, and prints ok or FAIL with
# the snippet's last output lines. A pipeline's status is its last command's (`grep` deciding), so
# an early-exiting `grep -q` cannot fail a check through SIGPIPE. All checks run even after a
# failure; `finish SUMMARY` prints the count and the failed names and exits 1 if any failed.
passed=0
failed=()
check() {
  local name="$1"
  shift
  if out=$(bash -c "$*" 2>&1); then
    passed=$((passed + 1))
    echo "  ok   $name"
  else
    failed+=("$name")
    echo "  FAIL $name"
    echo "$out" | tail -15 | sed 's/^/       /'
  fi
}

finish() {
  echo "$1: ${passed} checks passed, ${#failed[@]} failed"
  if [ "${#failed[@]}" -gt 0 ]; then
    printf '  failed: %s\n' "${failed[@]}"
    exit 1
  fi
}
