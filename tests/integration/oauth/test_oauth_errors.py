"""OAuth's failures as a person meets them, against the real Keycloak and broker: each one line naming the property
to fix (never the secret), exit 1, within about 2 s, not after --timeout; for the producer, the consumer, -L and
--lag.

The client without rights is let in (right audience and issuer) and then denied by the broker's ACLs; a token of
another audience, and one whose issuer is not the broker's (asked of Keycloak as localhost, not 127.0.0.1: Keycloak
in dev mode names itself after the host it is asked at), are refused by the broker at login."""

import uuid

import pytest

from local_kafka import create_topic
from local_kafka.keycloak import NO_RIGHTS, WRONG_AUDIENCE
from tests.integration.oauth.conftest import error_lines, oauth_config, run_script

pytestmark = [pytest.mark.xdist_group("oauth"), pytest.mark.local_broker_only]

REFUSED_CLIENT = ("the identity provider refused client '{client}' ({error}: Invalid client or Invalid client "
                  "credentials): check sasl.oauthbearer.client.id and sasl.oauthbearer.client.secret in {path} (an "
                  "unknown client id and a wrong secret look alike)")
REFUSED_TOKEN = ("the broker refused the OAuth token of client '{client}' (invalid_token): its issuer (iss), audience "
                 "(aud) or signing key is not what the cluster expects, and the broker does not say which; check "
                 "sasl.oauthbearer.token.endpoint.url ({endpoint}) and sasl.oauthbearer.client.id in {path} (on "
                 "Confluent Cloud: the identity provider's issuer and the identity pool's filter)")
UNREACHABLE = ("cannot reach the token endpoint (Failed to connect to 127.0.0.1:{port} after 0 ms: Could not connect "
               "to server): check sasl.oauthbearer.token.endpoint.url in {path}")


def case(broker, name):
    """(the config's changes, the sentence expected) for the failure `name`."""
    kc = broker.keycloak  # {closed}: a port nothing listens on, {path}: the config, filled in by the test
    cases = {
        "wrong secret": ({"sasl.oauthbearer.client.secret": "not-the-secret"},
                         REFUSED_CLIENT.format(client="kafka-cli", error="unauthorized_client", path="{path}")),
        "unknown client": ({"sasl.oauthbearer.client.id": "nobody"},
                           REFUSED_CLIENT.format(client="nobody", error="invalid_client", path="{path}")),
        "unreachable": ({"sasl.oauthbearer.token.endpoint.url": kc.token_url.replace(f":{kc.port}/", ":{closed}/")},
                        UNREACHABLE.format(port="{closed}", path="{path}")),
        "wrong audience": ({"sasl.oauthbearer.client.id": WRONG_AUDIENCE,
                            "sasl.oauthbearer.client.secret": kc.secrets[WRONG_AUDIENCE]},
                           REFUSED_TOKEN.format(client=WRONG_AUDIENCE, endpoint=kc.token_url, path="{path}")),
        "wrong issuer": ({"sasl.oauthbearer.token.endpoint.url": kc.token_url.replace("127.0.0.1", "localhost")},
                         REFUSED_TOKEN.format(client="kafka-cli", endpoint=kc.token_url.replace("127.0.0.1", "localhost"),
                                              path="{path}")),
    }
    return cases[name]


def closed_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again at once: nothing listens there


# About 1.1 s on an idle machine, Python's start included (docs/oauth.md); 4 s seen with the whole suite on two
# cores; either far below the --timeout 30 every run here is given, which is what the test tells apart
SAID_WITHIN = 6.0
COMMANDS = {"producer": ("producer.py", "--no-key"), "consumer": ("consumer.py", "-e"), "-L": ("consumer.py", "-L"),
            "--lag": ("consumer.py", "--lag", "-g", "local-demo")}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ["wrong secret", "unknown client", "unreachable", "wrong audience", "wrong issuer"])
def test_a_failed_oauth_login_is_one_line_naming_the_property_within_two_seconds(oauth_kafka, tmp_path, name, command):
    changes, sentence = case(oauth_kafka, name)
    port = closed_port()
    changes = {key: value.replace("{closed}", str(port)) for key, value in changes.items()}
    config = oauth_config(oauth_kafka, tmp_path / "oauth.ini", changes, drop=("schema.registry.", "bearer.auth."))
    script, *args = COMMANDS[command]
    if command in ("producer", "consumer"):
        args = ["-t", "topic_0", *args]
    result, seconds = run_script(script, config, *args, "--timeout", "30", input=b"line\n")
    assert result.returncode == 1, result.stderr.decode()
    assert error_lines(result.stderr) == ["Error: " + sentence.format(path=config, closed=port)]
    assert seconds < SAID_WITHIN, f"{name}: said after {seconds:.1f} s"


def test_a_client_without_rights_is_let_in_and_told_it_may_not(oauth_kafka, tmp_path):
    topic = f"oauth-{uuid.uuid4().hex[:8]}"
    create_topic(oauth_kafka.admin(), topic, 1)
    config = oauth_config(oauth_kafka, tmp_path / "no-rights.ini", {
        "sasl.oauthbearer.client.id": NO_RIGHTS, "sasl.oauthbearer.client.secret": oauth_kafka.keycloak.secrets[NO_RIGHTS]})
    produced, seconds = run_script("producer.py", config, "-t", topic, "--no-key", input=b"x\n")
    assert produced.returncode == 1
    # whichever the broker refuses first: the topic, or the producer id for idempotent writes (a cluster right)
    assert error_lines(produced.stderr) in (
        [f"Error: this client may not write to topic '{topic}' (the broker's ACLs); see {config}"],
        ["Error: this client may not write to this cluster idempotently (the broker's ACLs: IdempotentWrite on the "
         f"cluster); enable.idempotence=false in {config} writes without it"]), produced.stderr
    assert seconds < SAID_WITHIN
    consumed, seconds = run_script("consumer.py", config, "-t", topic, "-e", "--timeout", "30")
    assert consumed.returncode == 1
    assert error_lines(consumed.stderr) == ["Error: this client may not use group 'local-demo' (the broker's ACLs)"]
    assert seconds < SAID_WITHIN
    # -L asks nothing it could be refused: the broker lists only the topics a client may describe, here none
    listing, seconds = run_script("consumer.py", config, "-L", "--timeout", "30")
    assert listing.returncode == 0
    assert b"\n0 topics, 0 partitions" in listing.stdout
    assert listing.stderr.decode().splitlines() == [
        "consumer.py: the cluster lists no topics to this client: it has none yet, or this client may describe none "
        "(its ACLs; on Confluent Cloud, the role bindings of its API key or identity pool)"]
