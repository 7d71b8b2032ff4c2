#!/bin/sh
# The default user from the environment (and allowed from other hosts, as in the official image);
# then RabbitMQ in the foreground. Debian's wrapper runs the server as the rabbitmq user.
set -eu
: "${RABBITMQ_DEFAULT_USER:=guest}" "${RABBITMQ_DEFAULT_PASS:?RABBITMQ_DEFAULT_PASS is required}"
umask 077
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
loopback_users = none
listeners.tcp.default = 5672
CONF
chown rabbitmq:rabbitmq /etc/rabbitmq/rabbitmq.conf
mkdir -p /var/lib/rabbitmq
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
exec rabbitmq-server
