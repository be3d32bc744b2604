#!/usr/bin/env bash
# make bench's Schema Registry rows: a local Kafka with its registry in a directory of its own, bench/schema_bench.py
# against it (Avro, JSON Schema and Protobuf encode and decode at ~100 B beside -f text, and Avro beside Confluent's
# example loop), then stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export LOCAL_KAFKA_STATE
LOCAL_KAFKA_STATE=$(mktemp -d -u /tmp/local-kafka-bench-schema-XXXXXX)
trap '"$PYTHON" -m local_kafka stop >/dev/null 2>&1 || true' EXIT
"$PYTHON" -m local_kafka start --schema-registry >/dev/null
"$PYTHON" bench/schema_bench.py "$("$PYTHON" -m local_kafka config plaintext)" -n "${SCHEMA_BENCH_COUNT:-200000}"
