"""kafka_cli: reading the INI config, -X and -H options, secrets, the permission warning."""

import logging
import os

import pytest
from hypothesis import given, strategies as st

from kafka_cli.config import ini as kafka_config
from kafka_cli.config.ini import ClientConfig, apply_properties, file_warnings, load_config, parse_ini
from kafka_cli.core.errors import ConfigError
from kafka_cli.cli.options import parse_headers
from kafka_cli.core.secrets import Redactor


def warn_if_readable_by_others(config, log):
    for warning in file_warnings(config):
        log.warning("%s", warning)

MINIMAL = "[default]\nbootstrap.servers=broker:9092\n"


def config_error(path_or_callable, role="producer"):
    """The ConfigError that loading `path` (or calling the callable) raises."""
    with pytest.raises(ConfigError) as info:
        if callable(path_or_callable):
            path_or_callable()
        else:
            load_config(path_or_callable, role)
    assert info.value.exit_code == 2
    return info.value


# -- parse_ini ------------------------------------------------------------------------
def test_parse_ini_sections_values_and_line_numbers():
    text = "[default]\nbootstrap.servers = broker:9092 \n\n[consumer]\n  group.id=g1\n"
    assert parse_ini(text, "c.ini") == {
        "default": {"bootstrap.servers": ("broker:9092", 2)},
        "consumer": {"group.id": ("g1", 5)},
    }


def test_parse_ini_without_section_header_is_default():
    assert parse_ini("bootstrap.servers=b:1\nacks=all\n", "c.ini") == {
        "default": {"bootstrap.servers": ("b:1", 1), "acks": ("all", 2)}}


def test_parse_ini_comments_and_blank_lines_are_ignored():
    text = "# a comment\n; another\n   # indented\n\n[default]\n;x=1\n#y=2\nbootstrap.servers=b:1\n"
    assert parse_ini(text, "c.ini") == {"default": {"bootstrap.servers": ("b:1", 8)}}


def test_parse_ini_value_keeps_everything_after_the_first_equals_sign():
    text = 'sasl.jaas.config=org.x.PlainLoginModule required username="u" password="p=q";\n'
    assert parse_ini(text, "c.ini")["default"]["sasl.jaas.config"] == (
        'org.x.PlainLoginModule required username="u" password="p=q";', 1)


def test_parse_ini_empty_value_is_kept_as_empty():
    assert parse_ini("[default]\nclient.id=\n", "c.ini") == {"default": {"client.id": ("", 2)}}


def test_parse_ini_crlf_line_endings():
    assert parse_ini("[default]\r\nbootstrap.servers=b:1\r\n", "c.ini") == {
        "default": {"bootstrap.servers": ("b:1", 2)}}


keys = st.from_regex(r"[a-z][a-z0-9_.\-]{0,30}", fullmatch=True)
values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.strip)


@given(st.dictionaries(st.sampled_from(kafka_config.SECTIONS), st.dictionaries(keys, values, max_size=8), max_size=3))
def test_parse_ini_reads_back_what_was_written(sections):
    lines = []
    expected = {}
    for section, entries in sections.items():
        lines.append(f"[{section}]")
        expected[section] = {}
        for key, value in entries.items():
            lines.append(f"{key}={value}")
            expected[section][key] = (value, len(lines))
    assert parse_ini("\n".join(lines) + "\n", "c.ini") == expected


def test_parse_ini_line_numbers_count_newlines_only():
    text = "[default]\nbootstrap.servers=b:1\x0c\nnot a setting\n"
    error = config_error(lambda: parse_ini(text, "c.ini"))
    assert error.message == "c.ini line 3: expected 'property=value', got 'not a setting'"


# -- errors in the file: each a ConfigError naming file and line -----------------------
def test_duplicate_key_names_both_lines(write_config):
    path = write_config("[default]\nbootstrap.servers=a:1\nacks=1\n\nacks=all\n")
    assert config_error(path).message == f"{path} line 5 [default]: acks is set twice (also on line 3)"


def test_same_key_in_default_and_role_section_is_not_a_duplicate(write_config):
    path = write_config("[default]\nbootstrap.servers=a:1\nacks=1\n[producer]\nacks=all\n")
    assert load_config(path, "producer").get("acks") == "all"


def test_section_appearing_twice(write_config):
    path = write_config("[default]\nbootstrap.servers=a:1\n[producer]\nacks=1\n[producer]\nlinger.ms=5\n")
    assert config_error(path).message == f"{path} line 5: section [producer] appears twice"


@pytest.mark.parametrize("header", ["[default", "[]", "[producer] x"])
def test_malformed_section_header(write_config, header):
    path = write_config(f"bootstrap.servers=a:1\n{header}\nacks=1\n")
    assert config_error(path).message == f"{path} line 2: malformed section header {header!r}"


def test_line_without_equals_sign(write_config):
    path = write_config("[default]\nbootstrap.servers=a:1\nlinger.ms 5\n")
    assert config_error(path).message == f"{path} line 3: expected 'property=value', got 'linger.ms 5'"


def test_long_line_without_equals_sign_is_shortened(write_config):
    path = write_config("[default]\nbootstrap.servers=a:1\n" + "x" * 200 + "\n")
    assert config_error(path).message == f"{path} line 3: expected 'property=value', got '{'x' * 60}...'"


def test_value_without_property_name(write_config):
    path = write_config("[default]\nbootstrap.servers=a:1\n = 5\n")
    assert config_error(path).message == f"{path} line 3: a value without a property name"


def test_missing_bootstrap_servers(write_config):
    path = write_config("[default]\nacks=all\n[producer]\nlinger.ms=5\n")
    assert config_error(path).message == (
        f"{path}: bootstrap.servers is not set in [default]; it is the cluster's host:port")


@pytest.mark.parametrize("line", ["bootstrap.servers=", "bootstrap.servers =   "])
def test_empty_bootstrap_servers(write_config, line):
    path = write_config(f"[default]\nacks=all\n{line}\n")
    assert config_error(path).message == (
        f"{path} line 3 [default] bootstrap.servers: is empty; it is the cluster's host:port")


def test_bootstrap_servers_in_role_section_is_enough(write_config):
    path = write_config("[default]\nacks=all\n[consumer]\nbootstrap.servers=c:1\n")
    assert load_config(path, "consumer").get("bootstrap.servers") == "c:1"


def test_placeholder_from_the_example_names_file_line_section_and_property(write_config):
    path = write_config("[default]\nbootstrap.servers=b:1\nsecurity.protocol=SASL_SSL\nsasl.username=<API KEY>\n")
    assert config_error(path).message == (
        f"{path} line 4 [default] sasl.username: still holds the placeholder <API KEY> from "
        "config.ini.example; fill in the real value")


def test_confluent_clouds_templated_placeholders_are_caught_too(write_config):
    path = write_config("[default]\nbootstrap.servers={{ BOOTSTRAP_SERVERS }}\nsasl.username={{ CLUSTER_API_KEY }}\n"
                        "sasl.password={{CLUSTER_API_SECRET}}\n"
                        "basic.auth.user.info={{ SR_API_KEY }}:{{ SR_API_SECRET }}\n")
    assert config_error(path).message == (
        f"{path}: 4 properties still hold placeholders from Confluent Cloud's client snippet; fill in the real "
        "values: line 2 [default] bootstrap.servers {{ BOOTSTRAP_SERVERS }}; line 3 [default] sasl.username "
        "{{ CLUSTER_API_KEY }}; line 4 [default] sasl.password {{CLUSTER_API_SECRET}}; line 5 [default] "
        "basic.auth.user.info {{ SR_API_KEY }}:{{ SR_API_SECRET }}")
    one = write_config("[default]\nbootstrap.servers=b:1\nsasl.username={{ CLUSTER_API_KEY }}\n")
    assert config_error(one).message == (
        f"{one} line 3 [default] sasl.username: still holds the placeholder {{{{ CLUSTER_API_KEY }}}} from "
        "Confluent Cloud's client snippet; fill in the real value")


@pytest.mark.parametrize("value", ["a{{b}}", "{{}}", "{{ 1x }}", "x {{ KEY }}"])
def test_braces_that_are_no_placeholder_are_values(write_config, value):
    path = write_config(f"[default]\nbootstrap.servers=b:1\nclient.id={value}\n")
    assert load_config(path, "consumer").get("client.id") == value


def test_placeholder_in_role_section(write_config):
    path = write_config("[default]\nbootstrap.servers=b:1\n[consumer]\ngroup.id=<GROUP>\n")
    assert config_error(path, "consumer").message.startswith(
        f"{path} line 4 [consumer] group.id: still holds the placeholder <GROUP>")


def test_the_example_config_itself_is_rejected_with_every_placeholder_at_once():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(kafka_config.__file__))), "config.ini.example")
    with open(path) as f:
        numbered = list(enumerate(f, 1))
    where = {name: n for name in ("bootstrap.servers", "sasl.username", "sasl.password")
             for n, line in numbered if line.startswith(name + "=")}
    assert config_error(path).message == (
        f"{path}: 3 properties still hold placeholders from config.ini.example; fill in the real values: "
        f"line {where['bootstrap.servers']} [default] bootstrap.servers <BOOTSTRAP SERVER>; "
        f"line {where['sasl.username']} [default] sasl.username <API KEY>; "
        f"line {where['sasl.password']} [default] sasl.password <API SECRET>")


def test_a_misspelled_default_section_is_named_when_bootstrap_is_missing(write_config):
    path = write_config("[defualt]\nbootstrap.servers=b:1\n")
    assert config_error(path).message == (
        f"{path}: bootstrap.servers is not set in [default]; it is the cluster's host:port; "
        "section [defualt] is not read; did you mean [default]?")


@pytest.mark.parametrize("item, shown", [
    ("sasl.password:hunter2", "sasl.password ..."),
    ("sasl.password hunter2", "sasl.password ..."),
    ("=hunter2", "=hunter2"),
    ("sasl.password", "sasl.password ..."),
])
def test_a_mistyped_secret_property_is_never_echoed(write_config, item, shown):
    path = write_config("[default]\nbootstrap.servers=b:1\n")
    error = config_error(lambda: load_config(path, "producer", [item]))
    assert error.message == f"-X {shown!r}: expected KEY=VALUE"
    assert "hunter2" not in error.message or item.startswith("=")


@pytest.mark.parametrize("item, says", [
    ("a\udcff=1", "-X a\\udcff: the property name is not valid UTF-8 (byte \\xff at position 1)"),
    ("client.id=x\udcfe", "-X client.id: the value is not valid UTF-8 (byte \\xfe at position 1)"),
    ("sasl.password=\udcfehunter", "-X sasl.password: the value is not valid UTF-8 (byte \\xfe at position 0)"),
])
def test_a_property_that_is_not_utf8_is_refused_before_librdkafka(write_config, item, says):
    path = write_config("[default]\nbootstrap.servers=b:1\n")
    assert config_error(lambda: load_config(path, "producer", [item])).message == says


def test_binary_junk_is_rejected(write_config):
    path = write_config(b"\x7fELF\x02\x01\x01\x00\x00\x00bootstrap.servers=b:1\n")
    assert config_error(path).message == f"{path}: holds binary data (NUL bytes), not an INI config file"


def test_invalid_utf8_names_the_line(write_config):
    path = write_config(b"[default]\nbootstrap.servers=b:1\nclient.id=caf\xe9\n")
    assert config_error(path).message == f"{path} line 3: not UTF-8 text (bad byte at offset 45)"


def test_invalid_utf8_after_a_bom_names_the_right_line(write_config):
    path = write_config(b"\xef\xbb\xbfbootstrap.servers=b:1\n\xff\n")
    assert config_error(path).message == f"{path} line 2: not UTF-8 text (bad byte at offset 25)"


def test_utf8_bom_is_accepted(write_config):
    path = write_config(b"\xef\xbb\xbf[default]\nbootstrap.servers=b:1\n")
    assert load_config(path, "producer").as_dict() == {"bootstrap.servers": "b:1"}


def test_file_larger_than_one_mib(write_config):
    path = write_config(MINIMAL + "#" * (kafka_config.MAX_CONFIG_BYTES - len(MINIMAL)) + "\n")
    assert config_error(path).message == (
        f"{path}: 1,048,577 bytes is far too large for a config file (limit 1,048,576)")


def test_file_of_exactly_one_mib_is_read(write_config):
    path = write_config(MINIMAL + "#" * (kafka_config.MAX_CONFIG_BYTES - len(MINIMAL) - 1) + "\n")
    assert os.path.getsize(path) == kafka_config.MAX_CONFIG_BYTES
    assert load_config(path, "producer").as_dict() == {"bootstrap.servers": "broker:9092"}


def test_directory(tmp_path):
    assert config_error(str(tmp_path)).message == f"{tmp_path}: is a directory, not a config file"


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.ini")
    assert config_error(path).message == f"{path}: cannot read the config file: No such file or directory"


@pytest.mark.parametrize("content", [
    "[default]\nacks=1\nacks=2\n",
    "[default\nbootstrap.servers=b:1\n",
    "bootstrap.servers=b:1\nnonsense\n",
    "acks=1\n",
    "bootstrap.servers=\n",
    "bootstrap.servers=<BOOTSTRAP SERVER>\n",
    "bootstrap.servers=${KAFKA_CLI_TEST_UNSET_VARIABLE}\n",
    "bootstrap.servers=${not a name}\n",
    b"bootstrap.servers=b:1\n\x00\x00",
    b"bootstrap.servers=\xff\xfe\n",
])
def test_every_file_error_is_a_config_error_with_exit_code_2(write_config, monkeypatch, content):
    monkeypatch.delenv("KAFKA_CLI_TEST_UNSET_VARIABLE", raising=False)
    config_error(write_config(content))


# -- merging [default] with the role's section ---------------------------------------------
FULL = """\
# comment
[default]
bootstrap.servers=b:9092
security.protocol=SASL_SSL
acks=1

[consumer]
group.id=g1
auto.offset.reset=earliest

[producer]
; producer only
acks=all
compression.type=zstd
"""


def test_producer_merges_default_and_producer_section(write_config):
    path = write_config(FULL)
    config = load_config(path, "producer")
    assert config.as_dict() == {"bootstrap.servers": "b:9092", "security.protocol": "SASL_SSL",
                                "acks": "all", "compression.type": "zstd"}
    assert config.origin("acks") == f"{path} line 13 [producer]"
    assert config.origin("bootstrap.servers") == f"{path} line 3 [default]"
    assert config.origin("group.id") == f"{path} (not set)"


def test_consumer_merges_default_and_consumer_section(write_config):
    path = write_config(FULL)
    config = load_config(path, "consumer")
    assert config.as_dict() == {"bootstrap.servers": "b:9092", "security.protocol": "SASL_SSL", "acks": "1",
                                "group.id": "g1", "auto.offset.reset": "earliest"}
    assert config.origin("group.id") == f"{path} line 8 [consumer]"


def test_errors_in_the_other_role_section_still_count(write_config):
    """The whole file is parsed, not only the sections the role reads."""
    path = write_config(FULL + "[consumer]\n")
    assert config_error(path, "producer").message == f"{path} line 15: section [consumer] appears twice"


# -- ${NAME} ---------------------------------------------------------------------------------
def test_env_reference_is_expanded(write_config, monkeypatch):
    monkeypatch.setenv("KAFKA_CLI_TEST_HOST", "h.example")
    monkeypatch.setenv("KAFKA_CLI_TEST_PORT", "9093")
    path = write_config("[default]\nbootstrap.servers=${KAFKA_CLI_TEST_HOST}:${KAFKA_CLI_TEST_PORT},x:1\n")
    assert load_config(path, "producer").get("bootstrap.servers") == "h.example:9093,x:1"


def test_env_value_is_not_expanded_again(write_config, monkeypatch):
    monkeypatch.setenv("KAFKA_CLI_TEST_A", "${KAFKA_CLI_TEST_B}<X>")
    path = write_config("[default]\nbootstrap.servers=b:1\nclient.id=${KAFKA_CLI_TEST_A}\n")
    assert load_config(path, "producer").get("client.id") == "${KAFKA_CLI_TEST_B}<X>"


def test_env_reference_to_an_empty_variable(write_config, monkeypatch):
    monkeypatch.setenv("KAFKA_CLI_TEST_EMPTY", "")
    path = write_config("[default]\nbootstrap.servers=b:1\nclient.id=${KAFKA_CLI_TEST_EMPTY}\n")
    assert load_config(path, "producer").get("client.id") == ""


def test_unset_env_variable_names_it_and_file_line_section_property(write_config, monkeypatch):
    monkeypatch.delenv("KAFKA_CLI_TEST_UNSET", raising=False)
    path = write_config("[default]\nbootstrap.servers=b:1\n[consumer]\nsasl.password=${KAFKA_CLI_TEST_UNSET}\n")
    assert config_error(path, "consumer").message == (
        f"{path} line 4 [consumer] sasl.password: environment variable KAFKA_CLI_TEST_UNSET is not set "
        "(referenced as ${KAFKA_CLI_TEST_UNSET})")


def test_invalid_env_reference(write_config):
    path = write_config("[default]\nbootstrap.servers=b:1\nclient.id=${1ABC}\n")
    assert config_error(path).message == (
        f"{path} line 3 [default] client.id: ${{1ABC}} is not a valid environment variable reference")


def test_env_reference_in_the_other_role_section_is_not_needed(write_config, monkeypatch):
    monkeypatch.delenv("KAFKA_CLI_TEST_UNSET", raising=False)
    path = write_config("[default]\nbootstrap.servers=b:1\n[consumer]\ngroup.id=${KAFKA_CLI_TEST_UNSET}\n")
    assert load_config(path, "producer").as_dict() == {"bootstrap.servers": "b:1"}


# -- -X and -H ------------------------------------------------------------------------------
def test_x_overrides_the_file_and_adds_properties(write_config):
    path = write_config("[default]\nbootstrap.servers=b:1\nacks=1\n")
    config = load_config(path, "producer")
    apply_properties(config, ["acks=all", " linger.ms =5", "sasl.jaas.config=a=b", "client.id="])
    assert config.as_dict() == {"bootstrap.servers": "b:1", "acks": "all", "linger.ms": "5",
                                "sasl.jaas.config": "a=b", "client.id": ""}
    assert config.origin("acks") == "-X acks"
    assert config.origin("linger.ms") == "-X linger.ms"
    assert config.origin("bootstrap.servers") == f"{path} line 2 [default]"


def test_last_x_wins():
    config = ClientConfig("c.ini")
    apply_properties(config, ["acks=1", "acks=0"])
    assert config.as_dict() == {"acks": "0"}


@pytest.mark.parametrize("item, shown", [("acks", "acks"), ("=1", "=1"), (" =1", "=1"), ("", ""),
                                         ("a\tb", "a b")])  # (on one line: its whitespace folded)
def test_x_without_key_value(item, shown):
    error = config_error(lambda: apply_properties(ClientConfig("c.ini"), [item]))
    assert error.message == f"-X {shown!r}: expected KEY=VALUE"


def test_parse_headers():
    assert parse_headers(["source=import", "empty=", "eq=a=b", "utf8=é"]) == [
        ("source", b"import"), ("empty", b""), ("eq", b"a=b"), ("utf8", "é".encode())]
    assert parse_headers([]) == []


@pytest.mark.parametrize("item", ["novalue", "=value", ""])
def test_header_without_name_value(item):
    error = config_error(lambda: parse_headers([item]))
    assert error.message == f"-H {item!r}: expected NAME=VALUE"


def test_header_value_with_non_utf8_argv_bytes():
    assert parse_headers(["bin=\udcff\udcfe"]) == [("bin", b"\xff\xfe")]


# -- secrets ---------------------------------------------------------------------------------
def test_password_from_the_file_is_redacted(write_config, redactor):
    path = write_config("[default]\nbootstrap.servers=b:1\nsasl.username=alice\nsasl.password=S3cr3tValue\n")
    load_config(path, "producer", (), redactor)
    assert redactor("auth failed: password S3cr3tValue, again S3cr3tValue.") == "auth failed: password ***, again ***."
    assert redactor("user alice") == "user alice"  # the user name is no secret


@pytest.mark.parametrize("key", ["sasl.password", "ssl.key.password", "ssl.keystore.password",
                                 "sasl.oauthbearer.client.secret", "sasl.jaas.config", "ssl.key.pem"])
def test_secret_properties_are_redacted(write_config, key, redactor):
    path = write_config(f"[default]\nbootstrap.servers=b:1\n[consumer]\n{key}=Hush-hush-123\n")
    load_config(path, "consumer", (), redactor)
    assert redactor("x Hush-hush-123 y") == "x *** y"


def test_secret_from_the_environment_is_redacted(write_config, monkeypatch, redactor):
    monkeypatch.setenv("KAFKA_CLI_TEST_SECRET", "EnvS3cr3t")
    path = write_config("[default]\nbootstrap.servers=b:1\nsasl.password=${KAFKA_CLI_TEST_SECRET}\n")
    config = load_config(path, "producer", (), redactor)
    assert config.get("sasl.password") == "EnvS3cr3t"
    assert redactor("refused EnvS3cr3t") == "refused ***"


def test_secret_from_x_is_redacted(write_config, redactor):
    config = load_config(write_config(MINIMAL), "producer", (), redactor)
    apply_properties(config, ["sasl.password=XS3cr3tValue"], redactor)
    assert redactor("-> XS3cr3tValue <-") == "-> *** <-"


def test_secrets_are_only_the_secret_properties(write_config, redactor):
    path = write_config("[default]\nbootstrap.servers=b:1\nsasl.username=NotASecret\nclient.id=AlsoNot\n")
    load_config(path, "producer", (), redactor)
    assert redactor("NotASecret AlsoNot b:1") == "NotASecret AlsoNot b:1"


def test_redact_replaces_the_longest_secret_first(redactor):
    redactor.remember("abc")
    redactor.remember("abcdef")
    assert redactor("<abcdef> <abc>") == "<***> <***>"


def test_config_error_message_is_redacted_at_the_command_boundary(redactor):
    redactor.remember("S3cr3tValue")
    with pytest.raises(ConfigError) as info:
        with redactor.guard():
            raise ConfigError("refused S3cr3tValue")
    assert info.value.format_message() == "refused ***"


# -- the permission warning --------------------------------------------------------------------
PASSWORD_CONFIG = "[default]\nbootstrap.servers=b:1\nsasl.username=u\nsasl.password=S3cr3tValue\n"


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.WARNING, logger="test.permissions")
    return logging.getLogger("test.permissions")


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "test.permissions"]


def test_warning_for_a_password_file_readable_by_others(write_config, log, caplog):
    path = write_config(PASSWORD_CONFIG, mode=0o644)
    warn_if_readable_by_others(load_config(path, "producer"), log)
    assert warnings(caplog) == [f"{path} holds a password and is readable by others; fix with: chmod 600 {path}"]


def test_warning_for_a_password_file_readable_by_its_group(write_config, log, caplog):
    path = write_config(PASSWORD_CONFIG, mode=0o640)
    warn_if_readable_by_others(load_config(path, "producer"), log)
    assert warnings(caplog) == [f"{path} holds a password and is readable by its group; fix with: chmod 600 {path}"]


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_no_warning_for_a_private_password_file(write_config, log, caplog, mode):
    path = write_config(PASSWORD_CONFIG, mode=mode)
    warn_if_readable_by_others(load_config(path, "producer"), log)
    assert warnings(caplog) == []


def test_no_warning_without_a_password(write_config, log, caplog):
    path = write_config("[default]\nbootstrap.servers=b:1\nsasl.username=u\n", mode=0o644)
    warn_if_readable_by_others(load_config(path, "producer"), log)
    assert warnings(caplog) == []


def test_no_warning_when_the_password_comes_from_x(write_config, log, caplog):
    path = write_config(MINIMAL, mode=0o644)
    config = load_config(path, "producer")
    apply_properties(config, ["sasl.password=S3cr3tValue"])
    warn_if_readable_by_others(config, log)
    assert warnings(caplog) == []


def test_no_warning_when_the_password_comes_from_the_environment(write_config, log, caplog, monkeypatch):
    monkeypatch.setenv("KAFKA_CLI_TEST_SECRET", "EnvS3cr3t")
    path = write_config("[default]\nbootstrap.servers=b:1\nsasl.password=${KAFKA_CLI_TEST_SECRET}\n", mode=0o644)
    warn_if_readable_by_others(load_config(path, "producer"), log)
    assert warnings(caplog) == []
