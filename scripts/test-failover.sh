#!/usr/bin/env bash
# The failover suite: brings the local stack up with a three-broker Kafka cluster (replication 3,
# min.insync.replicas 2; the single broker is stopped first), then kills, freezes and restarts
# brokers under real runs (test/failover/). Used as-is by .ci/run after the main suite.
set -euo pipefail
cd "$(dirname "$0")/.."

export STACK_KAFKA_BROKERS=3
bash stack/stack.sh up
# shellcheck disable=SC1091
source .stack/env

# kafkajs only by default: on librdkafka the coordinator-loss scenarios are not yet reliable (an
# attempt can miss its heartbeats while librdkafka calls wait on libuv's thread pool; see
# docs/producer-backends.md). TEST_KAFKA_CLIENTS=librdkafka (or kafkajs,librdkafka) runs them.
export TEST_KAFKA_CLIENTS="${TEST_KAFKA_CLIENTS:-kafkajs}"
echo "== failover tests (three-broker cluster; backends: $TEST_KAFKA_CLIENTS)"
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec test/failover/*.test.ts
