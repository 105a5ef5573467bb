#!/bin/sh
# docker-compose one-shot: seeds the two secrets (create, or put a new version when present).
set -eu
until aws secretsmanager list-secrets >/dev/null 2>&1; do sleep 1; done
put() {
  aws secretsmanager create-secret --name "$1" --secret-string "$2" >/dev/null 2>&1 ||
    aws secretsmanager put-secret-value --secret-id "$1" --secret-string "$2" >/dev/null
  echo "seeded $1"
}
put confluent/kafka-cluster \
  "{\"bootstrap_servers\":\"127.0.0.1:9093\",\"api_key\":\"$KAFKA_API_KEY\",\"api_secret\":\"$KAFKA_API_SECRET\"}"
put confluent/schema-registry \
  "{\"url\":\"http://127.0.0.1:8081\",\"api_key\":\"$REGISTRY_API_KEY\",\"api_secret\":\"$REGISTRY_API_SECRET\"}"
