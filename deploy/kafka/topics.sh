#!/usr/bin/env bash
# Creates the platform's Kafka topics, or brings existing ones into line, with the Apache Kafka
# command-line tools (run it in the apache/kafka image, or anywhere /opt/kafka/bin exists).
# Safe to run again and again.
#
#   KAFKA_BOOTSTRAP_SERVERS   broker list                       (default localhost:9092)
#   KAFKA_TOPIC_PARTITIONS    partitions per topic              (default 6)
#   KAFKA_REPLICATION_FACTOR  replicas per partition            (default 3)
#   KAFKA_MIN_INSYNC_REPLICAS replicas that must ack (acks=all) (default 2; 1 on a single broker)
#   EVENTS_RETENTION_MS       retention of <service>.events     (default 30 days)
#   DLQ_RETENTION_MS          retention of <service>.events.dlq (default -1: until handled)
#   KAFKA_COMMAND_CONFIG      optional client properties file (TLS/SASL) for the tools
#   ALLOW_PARTITION_INCREASE  "true" to grow an existing topic to KAFKA_TOPIC_PARTITIONS
#
# The message key is the enterprise's unified social credit code, so one enterprise's events
# stay in one partition and in order. Adding partitions later moves keys to other partitions
# (events already in flight may then be seen out of order), so it is refused unless asked for.
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP_SERVERS:-localhost:9092}"
PARTITIONS="${KAFKA_TOPIC_PARTITIONS:-6}"
REPLICATION_FACTOR="${KAFKA_REPLICATION_FACTOR:-3}"
MIN_INSYNC_REPLICAS="${KAFKA_MIN_INSYNC_REPLICAS:-2}"
EVENTS_RETENTION_MS="${EVENTS_RETENTION_MS:-2592000000}"
DLQ_RETENTION_MS="${DLQ_RETENTION_MS:--1}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"

# The business-event topics (one per service) and their dead-letter twins.
EVENT_TOPICS="policy.events claims.events prevention.events monitoring.events"
DEAD_LETTER_SUFFIX=".dlq"

if [ "$MIN_INSYNC_REPLICAS" -gt "$REPLICATION_FACTOR" ]; then
    echo "topics: min.insync.replicas ($MIN_INSYNC_REPLICAS) > replication factor ($REPLICATION_FACTOR): every acks=all write would fail" >&2
    exit 1
fi

client_args=(--bootstrap-server "$BOOTSTRAP")
if [ -n "${KAFKA_COMMAND_CONFIG:-}" ]; then
    client_args+=(--command-config "$KAFKA_COMMAND_CONFIG")
fi

existing_topics="$("$KAFKA_BIN/kafka-topics.sh" "${client_args[@]}" --list)"

ensure_topic() {
    local topic="$1" retention_ms="$2"
    local configs="min.insync.replicas=${MIN_INSYNC_REPLICAS},retention.ms=${retention_ms},cleanup.policy=delete,unclean.leader.election.enable=false"

    if ! grep -qxF "$topic" <<< "$existing_topics"; then
        "$KAFKA_BIN/kafka-topics.sh" "${client_args[@]}" --create --if-not-exists --topic "$topic" \
            --partitions "$PARTITIONS" --replication-factor "$REPLICATION_FACTOR" \
            --config "min.insync.replicas=${MIN_INSYNC_REPLICAS}" \
            --config "retention.ms=${retention_ms}" \
            --config "cleanup.policy=delete" \
            --config "unclean.leader.election.enable=false"
        echo "topics: $topic created (partitions=$PARTITIONS replication=$REPLICATION_FACTOR $configs)"
        return
    fi

    # The topic exists already (an earlier run, or a service that created it at start-up with
    # the broker's defaults): set the configuration it must have, and report what cannot be set.
    "$KAFKA_BIN/kafka-configs.sh" "${client_args[@]}" --alter --entity-type topics --entity-name "$topic" \
        --add-config "$configs" > /dev/null

    local description current_partitions current_replication
    description="$("$KAFKA_BIN/kafka-topics.sh" "${client_args[@]}" --describe --topic "$topic")"
    current_partitions="$(sed -n 's/.*PartitionCount: *\([0-9][0-9]*\).*/\1/p' <<< "$description" | head -n 1)"
    current_replication="$(sed -n 's/.*ReplicationFactor: *\([0-9][0-9]*\).*/\1/p' <<< "$description" | head -n 1)"

    if [ "${current_partitions:-0}" -lt "$PARTITIONS" ]; then
        if [ "${ALLOW_PARTITION_INCREASE:-false}" = "true" ]; then
            "$KAFKA_BIN/kafka-topics.sh" "${client_args[@]}" --alter --topic "$topic" --partitions "$PARTITIONS"
            echo "topics: $topic grown from $current_partitions to $PARTITIONS partitions"
        else
            echo "topics: WARNING $topic has $current_partitions partitions, wanted $PARTITIONS (set ALLOW_PARTITION_INCREASE=true to grow it)" >&2
        fi
    fi
    if [ "${current_replication:-0}" -ne "$REPLICATION_FACTOR" ]; then
        echo "topics: WARNING $topic has replication factor $current_replication, wanted $REPLICATION_FACTOR (change it with kafka-reassign-partitions.sh)" >&2
    fi
    echo "topics: $topic updated (partitions=$current_partitions replication=$current_replication $configs)"
}

for topic in $EVENT_TOPICS; do
    ensure_topic "$topic" "$EVENTS_RETENTION_MS"
    ensure_topic "${topic}${DEAD_LETTER_SUFFIX}" "$DLQ_RETENTION_MS"
done
