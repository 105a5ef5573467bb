#!/usr/bin/env bash
# npm test's second lane, run by scripts/test.sh in a copy of the tree whose stack ports are moved up
# by 10000: the failover suite on the three-broker cluster, then the test files given, on one broker.
# Both parts run whatever the first's result; the exit code is the first failure's.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
bash scripts/test-failover.sh || rc=$?
echo "== the second lane's single-broker files: $*"
export STACK_KAFKA_BROKERS=1 STACK_FOR_TESTS=1
bash stack/stack.sh up || exit 1
# shellcheck disable=SC1091
source .stack/env
node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@" || { r=$?; ((rc != 0)) || rc=$r; }
exit "$rc"
