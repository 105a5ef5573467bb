// The Schema Registry's REST vocabulary, shared by the client and by the settings that feed it.

/** The registry's v1 media type, sent as both Accept and Content-Type. */
export const REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Confluent's compatibility levels (Apicurio's ccompat API takes the same names). */
export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;

export type Compatibility = (typeof COMPATIBILITY_LEVELS)[number];
