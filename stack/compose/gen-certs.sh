#!/bin/sh
# docker-compose one-shot: the CA and broker certificate for the SASL_SSL listener.
set -eu
cd /tls
[ -f broker.p12 ] && exit 0
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=order-events local CA" -keyout ca.key -out ca.pem
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kafka\nextendedKeyUsage=serverAuth\n' >broker.ext
openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile broker.ext -out broker.pem
openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
  -passout "pass:$TLS_STORE_PASSWORD" -out broker.p12
chmod 644 /tls/*
