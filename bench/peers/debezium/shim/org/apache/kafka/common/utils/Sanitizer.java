package org.apache.kafka.common.utils;

/**
 * Debezium 3.6.x (debezium-connector-common: io.debezium.metrics.Metrics, io.debezium.pipeline.JmxUtils)
 * calls org.apache.kafka.common.utils.Sanitizer.jmxSanitize to name its JMX beans. Kafka 4.4.0 moved that
 * internal class to org.apache.kafka.common.utils.internals (KAFKA-20297), so the task fails at start with
 * NoClassDefFoundError. Debezium fixed it in 3.7.0 (debezium/dbz#2555, its own io.debezium.util.Sanitizer).
 * This class restores the old name, delegating to Kafka 4.4's own implementation; fetch.sh compiles it
 * into the libs dir only when kafka-clients lacks the class.
 */
public final class Sanitizer {
    private Sanitizer() {
    }

    public static String sanitize(String name) {
        return org.apache.kafka.common.utils.internals.Sanitizer.sanitize(name);
    }

    public static String desanitize(String name) {
        return org.apache.kafka.common.utils.internals.Sanitizer.desanitize(name);
    }

    public static String jmxSanitize(String name) {
        return org.apache.kafka.common.utils.internals.Sanitizer.jmxSanitize(name);
    }
}
