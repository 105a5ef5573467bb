# Pinned versions of the local services. Bump here only; the cache keys on them.
KAFKA_VERSION=4.4.0
APICURIO_VERSION=3.3.3
# Apicurio 3.3 is built for Java 21; on a machine with only Java 17 the stack runs 3.0.9 instead.
APICURIO_JAVA17_VERSION=3.0.9
TEMPORAL_CLI_VERSION=1.5.1
MOTO_VERSION=5.2.5
