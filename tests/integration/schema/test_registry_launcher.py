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
