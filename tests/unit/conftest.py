"""Unit-test helpers: no broker, no network.

The repository root is put on sys.path by tests/conftest.py, so the scripts import as modules.
"""

import signal

import pytest

from kafka_cli.core.secrets import Redactor


@pytest.fixture
def redactor():
    return Redactor()


@pytest.fixture(autouse=True)
def keep_signal_handlers():
    """The commands install SIGINT/SIGTERM/SIGHUP handlers; never leave them in the pytest process."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def write_config(tmp_path):
    """write_config(text, name="config.ini", mode=0o600) -> the path (str) of a new config file."""
    def write(text, name="config.ini", mode=0o600):
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        return str(path)
    return write
