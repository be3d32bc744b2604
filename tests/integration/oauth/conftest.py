"""The OAuth tests' world, started once per run: one local Kafka with `oauth=True` (a real Keycloak and the OAUTH
listener) and `schema_registry=True` (Apicurio taking Keycloak's tokens), as `python -m local_kafka start --oauth
--schema-registry` makes it. Every test here runs on one xdist worker (group "oauth"), so it starts once.

Every script run goes through `run_script` here, which keeps its output; after each test, the leak check reads
all of it: no client secret of the realm, no registry password and nothing shaped like a JWT may appear, -vv
included."""

import atexit
import re
import subprocess
import sys
import time

import pytest

from local_kafka import LocalKafka
from local_kafka.keycloak import CLIENTS
from tests.conftest import ROOT, version_options

JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.")
_outputs = []  # (command, stdout, stderr) of every run of the current test


@pytest.fixture(scope="session")
def oauth_kafka(tmp_path_factory):
    """The run's OAuth world. If it cannot start, every test that needs it errors: no silent skip."""
    broker = LocalKafka(workdir=tmp_path_factory.mktemp("oauth") / "kafka", oauth=True, schema_registry=True,
                        **version_options())
    atexit.register(broker.stop)  # after Ctrl-C too; stop() is idempotent
    broker.start(timeout=300)
    print(f"\noauth: Kafka, Keycloak and the Schema Registry started in {broker.startup_seconds:.1f} s "
          f"(OAUTH {broker.oauth_bootstrap}, Keycloak {broker.keycloak.issuer})", file=sys.stderr)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session", autouse=True)
def long_run(oauth_kafka, tmp_path_factory):
    """The long run (long_run.py), started with the first OAuth test and going on beside the others; the last of
    them, test_oauth_tokens_expire.py, waits for its end."""
    from tests.integration.oauth.long_run import LongRun

    def write_config(path, token_url):
        return oauth_config(oauth_kafka, path, {"sasl.oauthbearer.token.endpoint.url": token_url},
                            drop=("schema.registry.", "bearer.auth."))

    run = LongRun(oauth_kafka, tmp_path_factory.mktemp("long-run"), write_config)
    try:
        yield run
    finally:
        run.kill()


def secrets_of(broker):
    """Every secret of the OAuth world: the realm's client secrets and the registry's basic-auth password."""
    found = [broker.keycloak.secrets[client] for client in CLIENTS]
    return found + ([broker.registry.password] if broker.registry else [])


@pytest.fixture(autouse=True)
def no_secret_in_any_output(request):
    """The leak check, after every test here: each script's stdout and stderr holds no secret and no token."""
    _outputs.clear()
    yield
    if "oauth_kafka" not in request.fixturenames or not _outputs:
        return
    broker = request.getfixturevalue("oauth_kafka")
    for command, stdout, stderr in _outputs:
        for stream in (stdout, stderr):
            for secret in secrets_of(broker):
                assert secret.encode() not in stream, f"a secret in the output of {command}"
            assert not JWT.search(stream), f"a token in the output of {command}: {JWT.search(stream).group()[:12]}..."
            assert b"Traceback" not in stream, f"a traceback from {command}: {stream.decode()[-1500:]}"


def command(script, config, *args):
    return [sys.executable, str(ROOT / script), str(config), *map(str, args)]


def remember(cmd, stdout, stderr):
    _outputs.append((" ".join(map(str, cmd[1:4])), stdout or b"", stderr or b""))


def run_script(script, config, *args, input=b"", timeout=120):
    """Run a script to its end; (CompletedProcess, seconds). Its output goes to the leak check."""
    began = time.monotonic()
    cmd = command(script, config, *args)
    result = subprocess.run(cmd, cwd=ROOT, input=input, capture_output=True, timeout=timeout)
    seconds = time.monotonic() - began
    remember(cmd, result.stdout, result.stderr)
    return result, seconds


def oauth_config(broker, path, replace=None, drop=()):
    """A copy of the launcher's client-oauth.ini at `path` (0600), with `replace` {property: value} set in [default]
    and the properties whose names begin with one of `drop` left out."""
    replace, lines = dict(replace or {}), []
    for line in broker.oauth_config.read_text().splitlines():
        key = line.partition("=")[0].strip()
        if drop and key.startswith(tuple(drop)):
            continue
        lines.append(f"{key}={replace.pop(key)}" if key in replace else line)
    at = lines.index("[default]") + 1
    lines[at:at] = [f"{key}={value}" for key, value in replace.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def error_lines(stderr):
    return [line for line in stderr.decode(errors="replace").splitlines() if line.startswith("Error:")]
