# Pinned versions of the local services. Bump here only; the cache keys on them.
KAFKA_VERSION=4.4.0
APICURIO_VERSION=3.3.3
TEMPORAL_CLI_VERSION=1.5.1
MOTO_VERSION=5.2.5
TOXIPROXY_VERSION=2.5.0
# Python's confluent-kafka (Avro deserializer): the consumer tests' and the benchmark's Python client.
PY_CONFLUENT_KAFKA_VERSION=2.16.1
