"""local_kafka.registry: the Apicurio Registry the schema tests and `start --schema-registry` use."""

from local_kafka.registry import API_PATH


def test_registry_answers_with_auth_and_refuses_without(schema_registry):
    assert schema_registry.url.startswith("http://127.0.0.1:") and schema_registry.url.endswith(API_PATH)
    assert schema_registry.answers() == 200
    assert schema_registry.answers(user_info="registry:wrong-password") == 401


def test_backward_compatibility_is_the_global_rule(sr_client):
    assert sr_client.get_compatibility() == "BACKWARD"


def test_password_is_not_on_the_command_line(schema_registry):
    cmdline = open(f"/proc/{schema_registry.proc.pid}/cmdline", "rb").read()
    assert schema_registry.password.encode() not in cmdline and b"quarkus-run.jar" in cmdline


def test_start_with_schema_registry_writes_it_into_the_configs_and_stop_ends_it(tmp_path):
    """The shell face: `start --schema-registry` beside Kafka, the configs name it, `stop` ends both."""
    import os
    import subprocess
    import sys

    from kafka_cli.config.ini import load_config
    from local_kafka.registry import is_registry_process
    from local_kafka.state import read_state

    state_dir = tmp_path / "state"
    env = {**os.environ, "LOCAL_KAFKA_STATE": str(state_dir)}

    def launcher(*args):
        return subprocess.run([sys.executable, "-m", "local_kafka", *args], capture_output=True, text=True, env=env,
                              timeout=300)

    started = launcher("start", "--schema-registry")
    try:
        assert started.returncode == 0, started.stderr
        state = read_state(state_dir)
        registry = state["schema_registry"]
        assert f"Schema Registry {registry['url']}" in started.stdout
        for listener in ("plaintext", "sasl_ssl"):
            config = load_config(state[f"{listener}_config"], "consumer")
            assert config.registry.url == registry["url"] and "schema.registry.url" not in config.as_dict()
            assert config.registry.user() == "registry"
        password = config.registry.conf["basic.auth.user.info"].split(":", 1)[1]
        assert password not in started.stdout + started.stderr
        assert is_registry_process(registry["pid"], registry["dir"])
    finally:
        stopped = launcher("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not is_registry_process(registry["pid"], registry["dir"])
