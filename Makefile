# Two commands for a fresh clone: `make demo` and `make test`.
VENV   ?= .venv
PYTHON := $(VENV)/bin/python
SHELL  := /bin/bash

.PHONY: demo test unit install-check bench soak kafka-start kafka-stop clean

# pip's own lines are the progress: the first run fetches about 50 packages (confluent-kafka, grpcio-tools, ...)
$(VENV)/.installed: requirements.txt requirements-dev.txt bench/requirements.txt
	@echo "Installing the Python packages of requirements-dev.txt into $(VENV): once, about half a minute"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -r requirements-dev.txt
	@echo "Installed into $(VENV)"
	touch $@

## the tutorial against a local Kafka: start it, produce eight messages, consume them, stop it
demo: $(VENV)/.installed
	@PATH="$(VENV)/bin:$$PATH" bash local_kafka/demo.sh

## the whole test suite (unit + integration against a real local Kafka)
## (three workers: most tests wait on a broker or a process, so two cores run three of them; the script tests run
## once more against Kafka 3.9.1 on their own broker, tests/integration/test_scripts_on_kafka_3_9.py)
test: $(VENV)/.installed
	$(PYTHON) -m pytest -n 3 --dist loadgroup

unit: $(VENV)/.installed
	$(PYTHON) -m pytest tests/unit

## the pair as `pip install .` installs it: a wheel built into a new venv, the commands from another directory and one
## round trip (a part of `make test` too)
install-check: $(VENV)/.installed
	$(PYTHON) -m pytest -p no:cacheprovider tests/integration/test_installed.py

## the benchmark: producer.py and consumer.py beside kcat and Kafka's Java tools, at three message sizes (throughput, latency, end to end); then -L and --lag beside kcat -L and kafka-consumer-groups, and Avro, JSON Schema and Protobuf through the Schema Registry
bench: $(VENV)/.installed
	@command -v kcat >/dev/null || { echo "kcat is needed: apt-get install kcat"; exit 1; }
	$(PYTHON) bench/run.py
	$(PYTHON) bench/views.py
	PYTHON=$(PYTHON) bash bench/schema.sh

## the long soak run: random kills and pauses of one node of a 3-node cluster under load (SOAK_SECONDS, SOAK_SEED)
soak: $(VENV)/.installed
	SOAK_SECONDS=$${SOAK_SECONDS:-600} $(PYTHON) -m pytest -s -p no:cacheprovider tests/integration/test_soak.py

kafka-start: $(VENV)/.installed
	$(PYTHON) -m local_kafka start

kafka-stop: $(VENV)/.installed
	$(PYTHON) -m local_kafka stop

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
