"""kafka_cli.config.registry: Schema Registry settings in the INI file, kept away from librdkafka."""

import pytest

from kafka_cli.config.ini import load_config
from kafka_cli.core.errors import ConfigError
from kafka_cli.core.secrets import Redactor, is_secret_property

CLOUD_SNIPPET = """[default]
bootstrap.servers=pkc-1.example.com:9092
schema.registry.url=https://psrc-1.example.com
basic.auth.credentials.source=USER_INFO
basic.auth.user.info=SRKEY:sr-secret-value
"""


def load(write_config, text, role="consumer", properties=(), redactor=None):
    return load_config(write_config(text), role, properties, redactor)


def refusal(write_config, text):
    with pytest.raises(ConfigError) as info:
        load(write_config, text)
    return str(info.value.message)


def test_confluent_cloud_snippet_is_taken_out_of_the_librdkafka_config(write_config):
    config = load(write_config, CLOUD_SNIPPET)
    assert config.as_dict() == {"bootstrap.servers": "pkc-1.example.com:9092"}
    assert config.registry.conf == {"url": "https://psrc-1.example.com", "basic.auth.user.info": "SRKEY:sr-secret-value",
                                    "timeout": 10.0}
    assert config.registry.user() == "SRKEY"


def test_schema_registry_section_with_client_names(write_config):
    config = load(write_config, "[default]\nbootstrap.servers=b:1\n[schema_registry]\nurl=http://127.0.0.1:8081\n"
                                "ssl.ca.location=/ca.pem\ntimeout=3\n")
    assert config.as_dict() == {"bootstrap.servers": "b:1"}
    assert config.registry.conf == {"url": "http://127.0.0.1:8081", "ssl.ca.location": "/ca.pem", "timeout": 3.0}
    assert config.warnings == []  # the section is read, not reported as unknown


def test_no_registry_configured(write_config):
    assert load(write_config, "[default]\nbootstrap.servers=b:1\n").registry is None


def test_the_user_info_is_a_secret_told_to_the_redactor(write_config):
    redactor = Redactor()
    load(write_config, CLOUD_SNIPPET, redactor=redactor)
    assert redactor("auth SRKEY:sr-secret-value failed") == "auth *** failed"
    assert redactor("password sr-secret-value") == "password ***"
    assert is_secret_property("basic.auth.user.info")
    assert is_secret_property("schema.registry.basic.auth.user.info")


def test_placeholders_of_the_cloud_snippet_are_refused(write_config):
    message = refusal(write_config, CLOUD_SNIPPET.replace("SRKEY:sr-secret-value", "<SR API KEY>:<SR API SECRET>"))
    assert "line 5 [default] basic.auth.user.info" in message and "placeholder" in message


def test_env_reference_is_expanded_and_a_missing_one_named(write_config, monkeypatch):
    monkeypatch.setenv("SR_INFO", "k:from-env")
    text = "[default]\nbootstrap.servers=b:1\n[schema_registry]\nurl=http://r:1\nbasic.auth.user.info=${SR_INFO}\n"
    assert load(write_config, text).registry.conf["basic.auth.user.info"] == "k:from-env"
    monkeypatch.delenv("SR_INFO")
    assert "environment variable SR_INFO is not set" in refusal(write_config, text)


def test_user_info_without_colon_is_refused_without_showing_it(write_config):
    message = refusal(write_config, CLOUD_SNIPPET.replace("SRKEY:sr-secret-value", "justasecretvalue"))
    assert "line 5 [default] basic.auth.user.info" in message and "KEY:SECRET" in message
    assert "justasecretvalue" not in message


@pytest.mark.parametrize("line, says", [
    ("schema.registry.url=ftp://x", "line 3 [default] schema.registry.url: 'ftp://x' is not an http"),
    ("schema.registry.url=https://u:p@host", "credentials in the URL"),
    ("schema.registry.url=htps://u:p@host", "credentials in the URL"),  # said before the URL's shape
    ("basic.auth.credentials.source=URL", "line 3 [default] basic.auth.credentials.source: URL takes the credentials"),
    ("schema.registry.colour=blue", "line 3 [default] schema.registry.colour: not a Schema Registry setting"),
    ("basic.auth.credentials.source=SASL_INHERIT", "line 3 [default] basic.auth.credentials.source: 'SASL_INHERIT'"),
    ("basic.auth.user.info=a:b", "without its address"),
    ("schema.registry.timeout=never", "line 3 [default] schema.registry.timeout: 'never' is not a number"),
])
def test_bad_registry_settings_name_file_line_and_property(write_config, line, says):
    extra = "" if "url" in line or "user.info" in line else "schema.registry.url=http://r:1\n"
    assert says in refusal(write_config, f"[default]\nbootstrap.servers=b:1\n{line}\n{extra}")


def test_source_user_info_without_the_info(write_config):
    message = refusal(write_config, "[default]\nbootstrap.servers=b:1\nschema.registry.url=http://r:1\n"
                                    "basic.auth.credentials.source=USER_INFO\n")
    assert "basic.auth.user.info is not set" in message


def test_dash_x_can_set_the_registry(write_config):
    config = load(write_config, "[default]\nbootstrap.servers=b:1\n", properties=("schema.registry.url=http://r:2",))
    assert config.registry.url == "http://r:2" and config.as_dict() == {"bootstrap.servers": "b:1"}


def test_source_url_is_refused_for_user_info(write_config):
    message = refusal(write_config, CLOUD_SNIPPET.replace("source=USER_INFO", "source=URL"))
    assert "line 4 [default] basic.auth.credentials.source" in message and "use USER_INFO" in message
