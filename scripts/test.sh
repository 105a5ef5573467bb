#!/usr/bin/env bash
# The whole test suite from a fresh clone (used as-is by .ci/run): installs what is missing, brings
# the local stack up (or reuses it), runs typecheck + lint + format + structure checks, then every
# test against the real services, in two lanes at once:
#   - this tree, on the stack at the contract ports (one broker): test/*.test.ts but the files below;
#   - a copy of the tree whose stack has every port moved up by 10000 (scripts/test-second-lane.sh):
#     the failover suite on three brokers behind Toxiproxy, then the files below on one broker.
# The two stacks share nothing but the download cache and the machine; most of both lanes waits on
# restarts and timeouts, not on the CPU. The second lane's output is printed after the first's;
# the last line counts both. TEST_SECOND_LANE=off runs every test/*.test.ts here, no failover suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Moved to the second lane to even the lanes out: it kills and freezes only its own lane's processes.
SECOND_LANE_FILES=(test/faults.test.ts)
SECOND_LANE="${TEST_SECOND_LANE:-on}"
[[ "$SECOND_LANE" == on || "$SECOND_LANE" == off ]] || { echo "TEST_SECOND_LANE must be on or off, got '$SECOND_LANE'" >&2; exit 2; }

# The main suite runs on the single broker (it signals that broker by pid); the tests also need what
# `npm start` does not (the Python consumer). The second lane's pieces (Toxiproxy) are fetched by
# this first provisioning, so the two lanes never fetch into the cache at once.
export STACK_KAFKA_BROKERS=1 STACK_FOR_TESTS=1
[[ "$SECOND_LANE" == off ]] || export STACK_PROVISION=cluster
bash stack/stack.sh up
# shellcheck disable=SC1091
source .stack/env

LOGS="$(mktemp -d "${TMPDIR:-/tmp}/order-events-test.XXXXXX")"
LANE=''
lane_pid=''
cleanup() {
  [[ -z "$lane_pid" ]] || kill -- "-$lane_pid" 2>/dev/null || true
  [[ -z "$LANE" ]] || { (cd "$LANE" && bash stack/stack.sh down) >/dev/null 2>&1 || true; }
  rm -rf "$LANE" "$LOGS"
}
trap cleanup EXIT

files=()
if [[ "$SECOND_LANE" == on ]]; then
  LANE="$(mktemp -d "${TMPDIR:-/tmp}/order-events-lane.XXXXXX")"
  git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$LANE"
  # Every port stack/lib.sh defaults, moved up by 10000.
  ports=()
  while read -r name port; do ports+=("$name=$((port + 10000))"); done < <(
    sed -n 's/^\(STACK_[A-Z_]*_PORT\)="\${STACK_[A-Z_]*_PORT:-\([0-9]*\)}"$/\1 \2/p' stack/lib.sh
  )
  ((${#ports[@]} > 0)) || { echo "no STACK_*_PORT defaults found in stack/lib.sh" >&2; exit 1; }
  echo "== second lane started (its own stack, ports + 10000): the failover suite, then ${SECOND_LANE_FILES[*]}"
  setsid env "${ports[@]}" bash "$LANE/scripts/test-second-lane.sh" "${SECOND_LANE_FILES[@]}" >"$LOGS/second.log" 2>&1 &
  lane_pid=$!
  for f in test/*.test.ts; do [[ " ${SECOND_LANE_FILES[*]} " == *" $f "* ]] || files+=("$f"); done
else
  files=(test/*.test.ts)
fi

echo "== typecheck, lint, format, structure"
npx tsc --noEmit
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
node --import tsx scripts/check-structure.ts

echo "== tests (against the local stack)"
main_rc=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" 2>&1 | tee "$LOGS/main.log" || main_rc=$?
[[ "$SECOND_LANE" == on ]] || exit "$main_rc"

lane_rc=0
echo "== waiting for the second lane"
wait "$lane_pid" || lane_rc=$?
lane_pid=''
echo
echo "== second lane (its own stack, ports + 10000): the failover suite, then ${SECOND_LANE_FILES[*]}"
cat "$LOGS/second.log"
# Its scenario tables (artifacts/*.json) join this tree's.
if [[ -d "$LANE/artifacts" ]]; then mkdir -p artifacts && cp -r "$LANE/artifacts/." artifacts/; fi

# One line for both lanes: the runner's own counts; a lane that ended without them counts one failure.
count() { awk -v k="$2" '$1 == "ℹ" && $2 == k { s += $3; n++ } END { if (n) print s }' "$1"; }
passed=0 failed=0
for lane in "main:$main_rc" "second:$lane_rc"; do
  rc="${lane#*:}"
  p="$(count "$LOGS/${lane%%:*}.log" pass)" f="$(count "$LOGS/${lane%%:*}.log" fail)"
  passed=$((passed + ${p:-0}))
  if [[ -z "$f" || ("$f" == 0 && "$rc" != 0) ]]; then f=$((${f:-0} + 1)); fi
  failed=$((failed + f))
done
echo
echo "$passed passed, $failed failed"
((failed == 0))
