"""Both scripts and the views over OAuth, with the config the launcher writes in Confluent Cloud's shape: produce,
consume, -L, --lag, Schema Registry writes and reads; -v says the login and its extensions; the config file and
Keycloak's files private."""

import json
import os
import stat
import uuid

import pytest

from local_kafka import create_topic
from local_kafka.keycloak import AUDIENCE, CLIENT
from tests.integration.oauth.conftest import error_lines, oauth_config, run_script

pytestmark = [pytest.mark.xdist_group("oauth"), pytest.mark.local_broker_only]

CLOUD_SHAPE = ["bootstrap.servers", "security.protocol", "sasl.mechanisms", "sasl.oauthbearer.method",
               "sasl.oauthbearer.client.id", "sasl.oauthbearer.client.secret", "sasl.oauthbearer.token.endpoint.url",
               "sasl.oauthbearer.extensions", "ssl.ca.location", "schema.registry.url",
               "bearer.auth.credentials.source", "bearer.auth.issuer.endpoint.url", "bearer.auth.client.id",
               "bearer.auth.client.secret", "bearer.auth.logical.cluster", "bearer.auth.identity.pool.id"]


@pytest.fixture
def oauth_topic(oauth_kafka):
    name = f"oauth-{uuid.uuid4().hex[:8]}"
    create_topic(oauth_kafka.admin(), name, 3)
    return name


def default_section(path):
    text = path.read_text().split("[consumer]")[0]
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_the_launcher_writes_client_oauth_ini_in_confluent_clouds_shape_for_its_owner_only(oauth_kafka):
    path = oauth_kafka.oauth_config
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = default_section(path)
    assert list(settings) == CLOUD_SHAPE
    assert settings["sasl.mechanisms"] == "OAUTHBEARER" and settings["sasl.oauthbearer.method"] == "oidc"
    assert settings["sasl.oauthbearer.extensions"] == "logicalCluster=lkc-local,identityPoolId=pool-local"
    assert settings["sasl.oauthbearer.token.endpoint.url"] == oauth_kafka.keycloak.token_url
    assert oauth_kafka.describe()["oauth"]["config"] == str(path)


def test_keycloaks_files_that_hold_a_secret_are_its_owners_alone(oauth_kafka):
    secret = oauth_kafka.keycloak.secrets[CLIENT].encode()
    for folder, dirs, files in os.walk(oauth_kafka.workdir):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]  # lib/, themes/: the cache's
        for name in files:
            path = os.path.join(folder, name)
            if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
                with open(path, "rb") as f:
                    assert secret not in f.read(), f"{path} holds the client secret and others may read it"
    assert stat.S_IMODE(os.stat(oauth_kafka.keycloak.dir).st_mode) == 0o700


def test_tokens_carry_the_audience_the_broker_expects_and_live_a_minute(oauth_kafka):
    import base64

    payload = oauth_kafka.keycloak.token().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert AUDIENCE in claims["aud"] and claims["azp"] == CLIENT
    assert claims["exp"] - claims["iat"] == 60
    assert claims["iss"] == oauth_kafka.keycloak.issuer


def test_produce_and_consume_over_oauth_and_minus_v_says_the_login(oauth_kafka, oauth_topic):
    config = oauth_kafka.oauth_config
    lines = [f"k{i}:v{i}" for i in range(200)]
    produced, _ = run_script("producer.py", config, "-t", oauth_topic, "-K:", "-v", input="\n".join(lines).encode())
    assert produced.returncode == 0, produced.stderr.decode()
    assert b"200 delivered" in produced.stderr
    consumed, _ = run_script("consumer.py", config, "-t", oauth_topic, "-K:", "-e", "-v", "-g", f"g-{oauth_topic}")
    assert consumed.returncode == 0, consumed.stderr.decode()
    assert sorted(consumed.stdout.decode().splitlines()) == sorted(lines)
    for result in (produced, consumed):
        assert (f"OAuth (OIDC) as client 'kafka-cli', tokens from {oauth_kafka.keycloak.token_url}; extensions "
                "logicalCluster=lkc-local, identityPoolId=pool-local;").encode() in result.stderr


def test_listing_and_lag_over_oauth(oauth_kafka, oauth_topic):
    config = oauth_kafka.oauth_config
    group = f"g-{oauth_topic}"
    run_script("producer.py", config, "-t", oauth_topic, "--no-key", input=b"a\nb\nc\n")
    read, _ = run_script("consumer.py", config, "-t", oauth_topic, "-e", "-g", group)
    assert read.returncode == 0 and len(read.stdout.splitlines()) == 3
    listing, _ = run_script("consumer.py", config, "-L", "-t", oauth_topic, "-f", "json")
    assert listing.returncode == 0, listing.stderr.decode()
    found = json.loads(listing.stdout)
    assert [t["name"] for t in found["topics"]] == [oauth_topic]
    lag, _ = run_script("consumer.py", config, "--lag", "-g", group, "-f", "json")
    assert lag.returncode == 0, lag.stderr.decode()
    partitions = json.loads(lag.stdout)["partitions"]
    assert sum(p["committed"] or 0 for p in partitions) == 3  # every line read and committed
    assert all(p["lag"] in (0, None) for p in partitions)  # None: a partition that got no line


def test_schema_registry_writes_and_reads_with_bearer_tokens(oauth_kafka, oauth_topic, tmp_path):
    schema = tmp_path / "user.avsc"
    schema.write_text(json.dumps({"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}))
    config = oauth_kafka.oauth_config
    produced, _ = run_script("producer.py", config, "-t", oauth_topic, "-K:", "--value-format", "avro",
                             "--value-schema", schema, input=b'u1:{"name": "ann"}\n')
    assert produced.returncode == 0, produced.stderr.decode()
    consumed, _ = run_script("consumer.py", config, "-t", oauth_topic, "-e", "--value-format", "avro", "-f", "json",
                             "-g", f"g-{oauth_topic}")
    assert consumed.returncode == 0, consumed.stderr.decode()
    assert json.loads(consumed.stdout)["value"] == {"name": "ann"}


def test_the_registry_refuses_a_token_of_another_audience_in_one_line(oauth_kafka, oauth_topic, tmp_path):
    from local_kafka.keycloak import WRONG_AUDIENCE

    config = oauth_config(oauth_kafka, tmp_path / "sr.ini", {
        "bearer.auth.client.id": WRONG_AUDIENCE, "bearer.auth.client.secret": oauth_kafka.keycloak.secrets[WRONG_AUDIENCE]})
    schema = tmp_path / "s.avsc"
    schema.write_text('{"type": "string"}')
    result, seconds = run_script("producer.py", config, "-t", oauth_topic, "--value-format", "avro",
                                 "--value-schema", schema, "--no-key", input=b'"x"\n')
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"Error: subject {oauth_topic}-value: the Schema Registry at {oauth_kafka.registry.url} refused the bearer "
        f"token of client '{WRONG_AUDIENCE}': HTTP 401 (its issuer or audience is not one the registry takes): check "
        "bearer.auth.issuer.endpoint.url and bearer.auth.client.id"]
    assert seconds < 5


def test_minus_vv_shows_librdkafkas_oauth_steps_and_no_token(oauth_kafka, oauth_topic):
    """librdkafka's debug contexts (-vv) over OAuth: the login's steps are there; the leak check after this test
    finds no secret and nothing shaped like a token in them."""
    config = oauth_kafka.oauth_config
    produced, _ = run_script("producer.py", config, "-t", oauth_topic, "--no-key", "-vv", input=b"x\n")
    consumed, _ = run_script("consumer.py", config, "-t", oauth_topic, "-e", "-vv", "-g", f"g-{oauth_topic}")
    for result in (produced, consumed):
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        assert b"SASL OAUTHBEARER client in state" in result.stderr
        assert b"sasl.oauthbearer.client.secret" not in result.stderr or b"[redacted]" in result.stderr
