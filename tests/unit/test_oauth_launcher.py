"""`start --oauth` without starting anything: the realm Keycloak imports, the broker's OAUTH listener, the client
config in Confluent Cloud's shape, what `status` prints, `config oauth`, and the ports remembered with OAUTH."""

import stat

import pytest
from click.testing import CliRunner

from local_kafka import oauth
from local_kafka.__main__ import cli, print_where
from local_kafka.keycloak import CLIENTS, Keycloak, realm
from local_kafka.node_config import listener_properties
from local_kafka.state import _ports_of


def keycloak(tmp_path):
    kc = Keycloak(tmp_path / "kc")
    kc.port, kc.secrets = 8180, {client: f"secret-of-{client}" for client in CLIENTS}
    return kc


def test_the_realm_has_three_confidential_clients_with_their_audiences_and_one_minute_tokens():
    found = realm({client: "s" for client in CLIENTS})
    assert found["accessTokenLifespan"] == 60 and found["eventsEnabled"] is True
    audiences = {c["clientId"]: c["protocolMappers"][0]["config"]["included.custom.audience"] for c in found["clients"]}
    assert audiences == {"kafka-cli": "kafka", "kafka-cli-no-rights": "kafka", "kafka-cli-wrong-audience": "billing"}
    assert all(c["serviceAccountsEnabled"] and not c["publicClient"] and not c["standardFlowEnabled"]
               for c in found["clients"])


def test_the_oauth_listener_checks_keycloaks_tokens(tmp_path):
    kc = keycloak(tmp_path)
    props = oauth.listener_properties(kc)
    assert props["sasl.oauthbearer.jwks.endpoint.url"] == "http://127.0.0.1:8180/realms/kafka/protocol/openid-connect/certs"
    assert props["sasl.oauthbearer.expected.issuer"] == "http://127.0.0.1:8180/realms/kafka"
    assert props["sasl.oauthbearer.expected.audience"] == "kafka"
    assert props["listener.name.oauth.sasl.enabled.mechanisms"] == "OAUTHBEARER"
    assert oauth.java_flags(kc) == ["-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="
                                    "http://127.0.0.1:8180/realms/kafka/protocol/openid-connect/certs,"
                                    "http://127.0.0.1:8180/realms/kafka/protocol/openid-connect/token"]
    listeners = listener_properties({"PLAINTEXT": 1, "SASL_SSL": 2, "CONTROLLER": 3, "OAUTH": 4}, "1@x:3")
    assert listeners["listeners"].endswith(",OAUTH://127.0.0.1:4")
    assert listeners["advertised.listeners"].endswith(",OAUTH://localhost:4")
    assert listeners["listener.security.protocol.map"].endswith(",OAUTH:SASL_SSL")
    assert "OAUTH" not in listener_properties({"PLAINTEXT": 1, "SASL_SSL": 2, "CONTROLLER": 3}, "1@x:3")["listeners"]


def test_client_oauth_ini_is_confluent_clouds_shape_and_its_owners_alone(tmp_path):
    kc = keycloak(tmp_path)
    path = tmp_path / "client-oauth.ini"
    oauth.write_oauth_config(path, "localhost:9", oauth.client_settings(kc, "/ca.pem"),
                             oauth.registry_settings(kc, "http://127.0.0.1:8081/apis/ccompat/v7"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "sasl.oauthbearer.client.secret=secret-of-kafka-cli\n" in text
    assert "sasl.oauthbearer.extensions=logicalCluster=lkc-local,identityPoolId=pool-local\n" in text
    assert "bearer.auth.credentials.source=OAUTHBEARER\nbearer.auth.issuer.endpoint.url=http://127.0.0.1:8180/" in text
    assert text.index("bearer.auth.identity.pool.id=pool-local") < text.index("[consumer]")


def test_status_shows_the_oauth_listener_and_keycloak(tmp_path):
    state = {"kafka_version": "4.3.1", "workdir": "/w", "nodes": [{"pid": 7}], "plaintext_bootstrap": "p:1",
             "sasl_ssl_bootstrap": "s:2", "plaintext_config": "/w/p.ini", "sasl_ssl_config": "/w/s.ini",
             "ca_location": "/w/ca.pem", "log": "/w/b.log",
             "oauth": {"bootstrap": "localhost:3", "config": "/w/client-oauth.ini",
                       "issuer": "http://127.0.0.1:8180/realms/kafka", "pid": 9, "log": "/w/kc.log"}}
    import click

    @click.command()
    def show():
        print_where(state)

    out = CliRunner().invoke(show).output
    assert "  OAUTH      localhost:3            config: /w/client-oauth.ini\n" in out
    assert "  Keycloak http://127.0.0.1:8180/realms/kafka (pid 9; tokens for client-oauth.ini)  log: /w/kc.log\n" in out


def test_config_takes_oauth_as_a_listener():
    result = CliRunner().invoke(cli, ["config", "oauth"])
    # not running, or running without --oauth, or the path: the name itself was taken
    assert result.exit_code in (0, 1) and "invalid" not in result.output.lower(), result.output


def test_the_oauth_port_is_remembered_with_the_others():
    assert _ports_of({"nodes": {"1": {"PLAINTEXT": 1, "SASL_SSL": 2, "CONTROLLER": 3, "OAUTH": 4}}}) == {
        1: {"PLAINTEXT": 1, "SASL_SSL": 2, "CONTROLLER": 3, "OAUTH": 4}}


@pytest.mark.parametrize("brokers, registry, oauth_, said", [
    (1, False, False, "starting Kafka 4.3.1 (1 node) in STATE: usually 5-20 s"),
    (3, True, False, "starting Kafka 4.3.1 (3 nodes) and a Schema Registry in STATE: usually 5-20 s"),
    (1, True, True, "starting Kafka 4.3.1 (1 node), a Schema Registry and Keycloak in STATE: usually 35-45 s: "
                    "Keycloak is the slowest"),
])
def test_start_says_what_it_starts_and_how_long_that_takes_before_the_wait(capsys, brokers, registry, oauth_, said):
    from local_kafka.__main__ import STATE_DIR, say_starting

    say_starting(brokers, "4.3.1", registry, oauth_)
    assert capsys.readouterr().err == said.replace("STATE", str(STATE_DIR)) + "\n"
