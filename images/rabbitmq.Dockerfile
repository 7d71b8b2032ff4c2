# A stand-in for the official rabbitmq image on hosts with no registry (the compose deployment test):
# Debian's RabbitMQ with the part of the official image's contract docker-compose.yml uses:
# RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS, the data in /var/lib/rabbitmq (the node is named
# after the container's hostname), rabbitmq-diagnostics for the health check.
# Not for production: there, docker-compose.yml uses rabbitmq:3.13-alpine (RABBITMQ_IMAGE selects another).
ARG BASE=gentrade/debian-base:bookworm
FROM ${BASE}

RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/*
COPY images/services/rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint.sh
EXPOSE 5672
ENTRYPOINT ["/usr/local/bin/rabbitmq-entrypoint.sh"]
