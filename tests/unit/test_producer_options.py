"""producer.py's options through click, without a broker: what is refused and what --help promises."""

from click.testing import CliRunner

from kafka_cli.cli import producer

GOOD = "[default]\nbootstrap.servers=127.0.0.1:1\n"


def invoke(*args, input=""):
    result = CliRunner().invoke(producer.main, list(args), prog_name="producer.py", input=input)
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    return result


def test_help_documents_the_separator_escapes():
    text = " ".join(invoke("--help").output.split())
    for escape in ("\\t (tab)", "\\n", "\\r", "\\0 (NUL)", "\\xHH (any byte)", "\\\\ (backslash)", "-K '\\t'"):
        assert escape in text


def test_timeout_zero_is_refused_before_any_connection(write_config):
    result = invoke(write_config(GOOD), "--timeout", "0")
    assert result.exit_code == 2
    assert "Invalid value for '--timeout': 0.0 is not in the range x>0." in result.stderr
    assert "no broker answered" not in result.stderr


def test_timeout_help_shows_the_range_it_takes():
    text = " ".join(invoke("--help").output.split())
    assert "[default: 30.0; x>0]" in text and "x>=0" not in text
