#!/bin/sh
# Start the compose Kafka broker (KRaft, one node) with SASL/SCRAM-SHA-512 logins on its client
# listener. The user and its password are created when the data folder is first formatted, from
# the secret file; the controller and the broker's own connection stay PLAINTEXT on the
# container's loopback, out of reach of the network.
#
# Changing the password later: kafka-configs.sh --bootstrap-server 127.0.0.1:9094 --alter
#   --entity-type users --entity-name vidsentry --add-config 'SCRAM-SHA-512=[password=NEW]'
# (run inside the container), then update the secret file and restart the roles.
set -eu

KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
DATA=${KAFKA_DATA:-/var/lib/kafka/data}
SASL_USER=${KAFKA_SASL_USER:-vidsentry}
PASSWORD_FILE=${KAFKA_PASSWORD_FILE:-/run/secrets/kafka_password}
ADVERTISED_HOST=${KAFKA_ADVERTISED_HOST:-kafka}
PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
LOCAL_PORT=${KAFKA_LOCAL_PORT:-9094}
CONFIG=${KAFKA_CONFIG_FILE:-/tmp/server.properties}

if [ ! -r "$PASSWORD_FILE" ]; then
    echo "kafka-sasl.sh: cannot read the password file $PASSWORD_FILE (see deploy/compose/docker-compose.yml)" >&2
    exit 2
fi
PASSWORD=$(cat "$PASSWORD_FILE")
case "$PASSWORD" in
    ""|*[!A-Za-z0-9_.~-]*)
        echo "kafka-sasl.sh: the password in $PASSWORD_FILE must be non-empty letters, digits and _.~- (e.g. openssl rand -hex 24)" >&2
        exit 2;;
esac

cat > "$CONFIG" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${CONTROLLER_PORT}
controller.listener.names=CONTROLLER
listeners=SASL_PLAINTEXT://0.0.0.0:${PORT},LOCAL://127.0.0.1:${LOCAL_PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}
advertised.listeners=SASL_PLAINTEXT://${ADVERTISED_HOST}:${PORT},LOCAL://127.0.0.1:${LOCAL_PORT}
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,LOCAL:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=LOCAL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=${DATA}
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=8388608
EOF

if [ ! -f "$DATA/meta.properties" ]; then
    CLUSTER_ID=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-22)
    "$KAFKA_HOME/bin/kafka-storage.sh" format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$CONFIG" \
        --add-scram "SCRAM-SHA-512=[name=${SASL_USER},password=${PASSWORD}]"
fi
unset PASSWORD
exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$CONFIG"
