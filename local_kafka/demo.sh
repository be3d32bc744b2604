#!/usr/bin/env bash
# The tutorial's round trip against the local Kafka: eight messages in, eight messages out.
set -euo pipefail
cd "$(dirname "$0")/.."
export LOCAL_KAFKA_STATE="${LOCAL_KAFKA_STATE:-${TMPDIR:-/tmp}/local-kafka-demo-$UID}"
# the demo's own state directory: a Kafka still running there is one an interrupted demo left behind
python -m local_kafka stop 2>/dev/null
python -m local_kafka start
trap 'python -m local_kafka stop' EXIT
config=$(python -m local_kafka config sasl_ssl)
group="demo-$$"
echo
echo "\$ printf '1:message 1\\n...8:message 8\\n' | ./producer.py $config"
for i in 1 2 3 4 5 6 7 8; do echo "$i:message $i"; done | ./producer.py "$config"
echo
echo "\$ ./consumer.py $config --group $group --exit-at-end"
./consumer.py "$config" --group "$group" --exit-at-end
echo
echo "\$ ./consumer.py $config --group $group --from-beginning --exit-at-end --format verbose"
./consumer.py "$config" --group "$group" --from-beginning --exit-at-end --format verbose
