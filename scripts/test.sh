#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what is missing, brings the local stack
# up (or reuses it), runs typecheck + lint + format check, then every test against the real
# services. Used as-is by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# The main suite runs on the single broker (it signals that broker by pid); the failover suite
# (npm run test:failover) runs on the three-broker cluster.
export STACK_KAFKA_BROKERS=1
# The tests also need what `npm start` does not: the Python consumer (stack/provision.sh test).
export STACK_FOR_TESTS=1
bash stack/stack.sh up
# shellcheck disable=SC1091
source .stack/env

echo "== typecheck, lint, format, structure"
npx tsc --noEmit
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
node --import tsx scripts/check-structure.ts

echo "== tests (against the local stack)"
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec test/*.test.ts
