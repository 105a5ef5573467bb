#!/usr/bin/env bash
# npm run setup: the project's install step (stack.sh up runs it when node_modules is missing or
# older than package-lock.json, so `npm start` and `npm test` do it on a fresh clone).
#   1. Debian's build packages for the optional librdkafka backend (scripts/install-system-packages.sh build)
#   2. npm ci, with CKJS_LINKING=dynamic: @confluentinc/kafka-javascript first tries its prebuilt
#      binary from GitHub and, where that is unreachable (as on our CI machines), builds against
#      Debian's librdkafka dependencies instead of downloading their sources (about 3 minutes)
#   3. says whether KAFKA_CLIENT=librdkafka can run here
# The package is optional: if it cannot be built, npm ci still succeeds and the kafkajs default
# works; the test suite (which runs both backends) then fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[setup] %s\n' "$*"; }

if ! bash scripts/install-system-packages.sh build; then
  say "could not install the build packages: the librdkafka backend may not build (kafkajs still works)"
fi

say "npm ci (builds the librdkafka backend from source when no prebuilt binary is reachable: a few minutes)"
started=$SECONDS
CKJS_LINKING=dynamic npm ci --no-audit --no-fund --loglevel=error &
npm_pid=$!
while kill -0 "$npm_pid" 2>/dev/null; do
  sleep 15
  kill -0 "$npm_pid" 2>/dev/null && say "npm ci: still installing ($((SECONDS - started)) s)"
done
wait "$npm_pid"
say "npm ci: done in $((SECONDS - started)) s"

if version=$(node -e "process.stdout.write(require('@confluentinc/kafka-javascript').librdkafkaVersion)" 2>/dev/null); then
  say "librdkafka backend: available (librdkafka $version); KAFKA_CLIENT=librdkafka turns it on"
else
  say "librdkafka backend: NOT available here (its build failed; see npm's log). The kafkajs default works"
fi
