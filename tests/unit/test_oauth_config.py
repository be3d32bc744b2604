"""OAuth in the config (issue 29), without a broker: Confluent Cloud's OAuth snippet read (bearer.auth.* for the
registry), the https token endpoint's CA bundle, the -v line, JWT-shaped text redacted, and the sentences for
librdkafka's OAuth failures (their texts as librdkafka 2.16 wrote them against the launcher's Keycloak)."""

import pytest
from confluent_kafka import KafkaError

from kafka_cli.client.kafka_errors import describe_kafka_error
from kafka_cli.config.ini import load_config
from kafka_cli.config.oauth import login_summary
from kafka_cli.core.errors import ConfigError
from kafka_cli.core.secrets import Redactor

SECRET = "kc-secret-7f3a9"
SR_SECRET = "sr-secret-91bd"
KAFKA = f"""[default]
bootstrap.servers=pkc-1.example.com:9092
security.protocol=SASL_SSL
sasl.mechanisms=OAUTHBEARER
sasl.oauthbearer.method=oidc
sasl.oauthbearer.client.id=cli-client
sasl.oauthbearer.client.secret={SECRET}
sasl.oauthbearer.token.endpoint.url=https://idp.example.com/oauth2/token
sasl.oauthbearer.extensions=logicalCluster=lkc-1,identityPoolId=pool-1
"""
REGISTRY = f"""schema.registry.url=https://psrc-1.example.com
bearer.auth.credentials.source=OAUTHBEARER
bearer.auth.issuer.endpoint.url=https://idp.example.com/oauth2/token
bearer.auth.client.id=sr-client
bearer.auth.client.secret={SR_SECRET}
bearer.auth.logical.cluster=lsrc-1
bearer.auth.identity.pool.id=pool-1
"""


def refusal(write_config, text):
    redactor = Redactor()
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text), "consumer", (), redactor)
    return redactor(str(info.value.message))


def test_confluent_clouds_oauth_snippet_is_read_and_the_registry_part_kept_from_librdkafka(write_config):
    config = load_config(write_config(KAFKA + REGISTRY), "consumer")
    assert not any(name.startswith(("bearer.", "schema.")) for name in config.as_dict())
    assert config.get("sasl.oauthbearer.client.secret") == SECRET
    assert config.registry.oauth
    assert config.registry.conf == {
        "url": "https://psrc-1.example.com", "bearer.auth.credentials.source": "OAUTHBEARER",
        "bearer.auth.issuer.endpoint.url": "https://idp.example.com/oauth2/token", "bearer.auth.client.id": "sr-client",
        "bearer.auth.client.secret": SR_SECRET, "bearer.auth.logical.cluster": "lsrc-1",
        "bearer.auth.identity.pool.id": "pool-1", "bearer.auth.scope": "", "timeout": 10.0}


def test_both_secrets_are_told_to_the_redactor(write_config):
    redactor = Redactor()
    load_config(write_config(KAFKA + REGISTRY), "producer", (), redactor)
    assert redactor(f"a {SECRET} b {SR_SECRET}") == "a *** b ***"


@pytest.mark.parametrize("change, words", [
    (("bearer.auth.client.id=sr-client\n", ""), "bearer.auth.client.id is not set"),
    (("bearer.auth.client.secret=" + SR_SECRET + "\n", ""), "bearer.auth.client.secret is not set"),
    (("bearer.auth.credentials.source=OAUTHBEARER\n", ""), "set bearer.auth.credentials.source=OAUTHBEARER"),
    (("=OAUTHBEARER", "=STATIC_TOKEN"), "'STATIC_TOKEN' is not supported; use OAUTHBEARER"),
    (("bearer.auth.issuer.endpoint.url=https://", "bearer.auth.issuer.endpoint.url=ftp://"),
     "is not an http:// or https:// URL"),
    (("bearer.auth.identity.pool.id=pool-1\n", "basic.auth.user.info=K:S\n"),
     "basic.auth.user.info and bearer.auth.credentials.source are both set"),
])
def test_a_registry_oauth_setting_missing_or_wrong_is_named_and_the_secret_never_shown(write_config, change, words):
    message = refusal(write_config, KAFKA + REGISTRY.replace(*change))
    assert words in message
    assert SR_SECRET not in message and SECRET not in message


def test_an_https_token_endpoint_gets_the_systems_ca_bundle_unless_one_is_set(write_config):
    config = load_config(write_config(KAFKA), "consumer")
    assert config.get("https.ca.location") == "/etc/ssl/certs/ca-certificates.crt"  # this Debian machine's
    own = load_config(write_config(KAFKA + "https.ca.location=/my/ca.pem\n"), "consumer")
    assert own.get("https.ca.location") == "/my/ca.pem"
    http = load_config(write_config(KAFKA.replace("https://idp", "http://idp")), "consumer")
    assert http.get("https.ca.location") is None


def test_minus_v_says_client_endpoint_and_extensions_never_the_secret(write_config):
    config = load_config(write_config(KAFKA + REGISTRY), "consumer")
    said = login_summary(config)
    assert said == ("OAuth (OIDC) as client 'cli-client', tokens from https://idp.example.com/oauth2/token; extensions "
                    "logicalCluster=lkc-1, identityPoolId=pool-1; Schema Registry: bearer tokens as client "
                    "'sr-client', logical cluster lsrc-1, identity pool pool-1")
    assert login_summary(load_config(write_config("bootstrap.servers=b:1\n"), "consumer")) is None


def test_anything_shaped_like_a_jwt_is_redacted():
    token = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrYWZrYS1jbGkifQ.c2lnbmF0dXJlLWJ5dGVz_-"
    assert Redactor()(f"Bearer {token} expired") == "Bearer *** expired"
    assert Redactor()("eyJ alone, and a.b.c") == "eyJ alone, and a.b.c"


class FakeError:
    def __init__(self, text, code=KafkaError._AUTHENTICATION):
        self._text, self._code = text, code

    def code(self):
        return self._code

    def str(self):
        return self._text

    def fatal(self):
        return False


TOKEN = "Failed to acquire SASL OAUTHBEARER token: "


@pytest.mark.parametrize("text, words", [
    (TOKEN + '{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}',
     "the identity provider refused client 'cli-client' (unauthorized_client: Invalid client or Invalid client "
     "credentials): check sasl.oauthbearer.client.id and sasl.oauthbearer.client.secret in {path}"),
    (TOKEN + "Failed to connect to 127.0.0.1:1 after 0 ms: Could not connect to server",
     "cannot reach the token endpoint (Failed to connect to 127.0.0.1:1 after 0 ms: Could not connect to server): "
     "check sasl.oauthbearer.token.endpoint.url in {path}"),
    (TOKEN + "error adding trust anchors from file: /etc/pki/tls/certs/ca-bundle.crt",
     "could not be checked over https (error adding trust anchors from file: /etc/pki/tls/certs/ca-bundle.crt): "
     "set https.ca.location in {path}"),
    (TOKEN + "TLS connect error: error:0A00010B:SSL routines::wrong version number",
     "does not answer in TLS"),
    ('sasl_ssl://localhost:9/bootstrap: SASL authentication error: {"status":"invalid_token"} (after 305ms in state '
     'AUTH_REQ)', "the broker refused the OAuth token of client 'cli-client' (invalid_token): its issuer (iss), "
     "audience (aud) or signing key is not what the cluster expects"),
])
def test_librdkafkas_oauth_failures_become_one_line_naming_the_property(write_config, text, words):
    config = load_config(write_config(KAFKA), "consumer")
    said = describe_kafka_error(FakeError(text), config)
    assert words.format(path=config.path) in said
    assert "\n" not in said and SECRET not in said and "sasl.password" not in said


def test_a_producer_id_refused_for_want_of_a_cluster_right_names_the_right_and_the_way_round(write_config):
    """A client without rights may meet this before the topic's refusal: librdkafka's fatal error for the
    idempotent producer's id (it once reached the user as a traceback from poll())."""
    config = load_config(write_config(KAFKA), "producer")
    text = ("Failed to acquire idempotence PID from broker sasl_ssl://localhost:9/1: Broker: Cluster authorization "
            "failed")
    said = describe_kafka_error(FakeError(text, KafkaError.CLUSTER_AUTHORIZATION_FAILED), config)
    assert said == ("this client may not write to this cluster idempotently (the broker's ACLs: IdempotentWrite on the "
                    f"cluster); enable.idempotence=false in {config.path} writes without it")
