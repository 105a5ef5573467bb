#!/usr/bin/env bash
# The failover suite: brings the local stack up with a three-broker Kafka cluster (replication 3,
# min.insync.replicas 2; the single broker is stopped first) behind Toxiproxy, then kills, freezes
# and restarts brokers and degrades their links under real runs (test/failover/), on both
# backends. Used as-is by .ci/run after the main suite.
set -euo pipefail
cd "$(dirname "$0")/.."

export STACK_KAFKA_BROKERS=3
bash stack/stack.sh up
# shellcheck disable=SC1091
source .stack/env

# Both backends by default; TEST_KAFKA_CLIENTS=kafkajs (or librdkafka) narrows a local loop.
export TEST_KAFKA_CLIENTS="${TEST_KAFKA_CLIENTS:-kafkajs,librdkafka}"
echo "== failover tests (three-broker cluster; backends: $TEST_KAFKA_CLIENTS)"
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec test/failover/*.test.ts
