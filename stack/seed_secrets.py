"""Seeds the Secrets Manager emulator with the secrets the producer reads (Kafka, registry, PostgreSQL).

Idempotent: creates each secret, or writes a new version when it exists. The values are the
credentials the local SASL_SSL listener and registry accept; the shapes are the production ones.
"""
import json
import os

import boto3

client = boto3.client(
    "secretsmanager",
    region_name="eu-west-2",
    endpoint_url=os.environ["STACK_SECRETS_ENDPOINT"],
    aws_access_key_id="local-stack",
    aws_secret_access_key="local-stack",
)

secrets = {
    "confluent/kafka-cluster": {
        "bootstrap_servers": os.environ["KAFKA_BOOTSTRAP"],
        "api_key": os.environ["KAFKA_API_KEY"],
        "api_secret": os.environ["KAFKA_API_SECRET"],
    },
    "confluent/schema-registry": {
        "url": os.environ["REGISTRY_URL"],
        "api_key": os.environ["REGISTRY_API_KEY"],
        "api_secret": os.environ["REGISTRY_API_SECRET"],
    },
    "order-events/postgres": {
        "host": "127.0.0.1",
        "port": int(os.environ["POSTGRES_PORT"]),
        "database": "order_events",
        "user": "order_events",
        "password": os.environ["POSTGRES_PASSWORD"],
    },
}

for name, value in secrets.items():
    body = json.dumps(value)
    try:
        client.create_secret(Name=name, SecretString=body)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=body)
    print(f"[stack] secrets: {name} is seeded")
