"""Secrets the rest of the way: every secret librdkafka property is kept out of output and triggers the
permission warning; a password holding ${...} is never half-printed; a config others can change, and TLS
verification turned off, are warned about."""

import pytest
from click.testing import CliRunner

from kafka_cli.cli import consumer
from kafka_cli.cli import producer
from kafka_cli.config.ini import file_warnings, load_config
from kafka_cli.core.secrets import SECRET_PROPERTIES, is_secret_property

# Every property librdkafka 2.x marks sensitive whose value is a secret (CONFIGURATION.md, rdkafka_conf.c),
# and the Java spelling people paste with a password in it.
LIBRDKAFKA_SECRETS = ["sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem",
                      "sasl.oauthbearer.client.secret", "sasl.oauthbearer.assertion.private.key.passphrase",
                      "sasl.oauthbearer.assertion.private.key.pem", "sasl.oauthbearer.config",
                      "sasl.oauthbearer.client.credentials.client.secret", "ssl.ca.pem", "sasl.jaas.config"]
NOT_SECRETS = ["sasl.username", "bootstrap.servers", "ssl.ca.location", "ssl.certificate.location",
               "sasl.oauthbearer.token.endpoint.url", "client.id", "security.protocol", "sasl.mechanisms"]
SECRET = "Hush-hush-4711"


@pytest.mark.parametrize("name", LIBRDKAFKA_SECRETS)
def test_every_librdkafka_secret_is_known(name):
    assert is_secret_property(name)
    assert name in SECRET_PROPERTIES


@pytest.mark.parametrize("name", NOT_SECRETS)
def test_ordinary_properties_are_not_secrets(name):
    assert not is_secret_property(name)


def run(command, prog, *args):
    extra = ["-g", "unit-test-group"] if command is consumer.main else ["--timeout", "1"]
    result = CliRunner().invoke(command, extra + list(args), prog_name=prog, input="")
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    return result


@pytest.mark.parametrize("command, prog", [(producer.main, "producer.py"), (consumer.main, "consumer.py")])
@pytest.mark.parametrize("name", LIBRDKAFKA_SECRETS)
def test_a_secret_in_a_readable_file_is_warned_about_and_never_printed(command, prog, name, write_config):
    # an unknown property next to it makes the client refuse the config: the run ends before any network
    path = write_config(f"[default]\nbootstrap.servers=127.0.0.1:1\n{name}={SECRET}\nno.such.property=1\n",
                        mode=0o644)
    result = run(command, prog, "-v", path)
    assert result.exit_code == 2
    assert f"{path} holds a password and is readable by others; fix with: chmod 600 {path}" in result.stderr
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("value", ["pa${ss}word", "${A}${B}", "x${UNSET_FOR_TEST}", "${UNSET_FOR_TEST}y"])
def test_a_password_holding_dollar_brace_is_not_half_printed(value, write_config, monkeypatch):
    for name in ("ss", "A", "B", "UNSET_FOR_TEST"):
        monkeypatch.delenv(name, raising=False)
    path = write_config(f"[default]\nbootstrap.servers=b:1\nsasl.password={value}\n")
    result = run(producer.main, "producer.py", path)
    assert result.exit_code == 2
    shown = result.stderr.replace(path, "")
    assert result.stderr.startswith(f"Error: {path} line 3 [default] sasl.password: ")
    for part in ("pa", "ss", "word", "UNSET_FOR_TEST", "{A}", "{B}"):
        assert part not in shown.split("sasl.password: ", 1)[1].replace("password itself", "")


def warnings_for(write_config, text, mode=0o600):
    return file_warnings(load_config(write_config(text, mode=mode), "producer"))


@pytest.mark.parametrize("mode, who", [(0o602, "others"), (0o620, "its group"), (0o666, "others")])
def test_a_config_others_can_change_is_warned_about(write_config, mode, who):
    warnings = warnings_for(write_config, "[default]\nbootstrap.servers=b:1\n", mode)
    assert [w for w in warnings if "can be changed by" in w] == [
        f"{warnings[-1].split(' can be')[0]} can be changed by {who}, who could send your credentials to a broker "
        f"of theirs; fix with: chmod go-w {warnings[-1].split(' can be')[0]}"]


@pytest.mark.parametrize("settings", [["enable.ssl.certificate.verification=false"],
                                      ["ssl.endpoint.identification.algorithm=none"],
                                      ["enable.ssl.certificate.verification=false",
                                       "ssl.endpoint.identification.algorithm=none"]])
def test_tls_verification_off_gets_one_warning(write_config, settings):
    text = "[default]\nbootstrap.servers=b:1\nsecurity.protocol=SASL_SSL\n" + "".join(s + "\n" for s in settings)
    warnings = [w for w in warnings_for(write_config, text) if "TLS" in w or "host name" in w]
    assert len(warnings) == 1
    assert "line 4 [default]" in warnings[0]


def test_a_private_config_with_verification_on_gets_no_warning(write_config):
    text = f"[default]\nbootstrap.servers=b:1\nsasl.username=u\nsasl.password={SECRET}\n"
    assert warnings_for(write_config, text) == []


def test_log_lines_are_redacted(redactor, capsys):
    from kafka_cli.cli.terminal import setup_logging

    redactor.remember(SECRET)
    log, _ = setup_logging("unit-test.py", 0, False, redactor)
    log.warning("refused %s", SECRET)
    assert capsys.readouterr().err == "unit-test.py: refused ***\n"
