"""`start --oauth`: a real OIDC identity provider beside the local Kafka. Keycloak's published Quarkus distribution
(Maven Central, unpacked once into the launcher's cache, nothing built by hand) in dev mode on loopback, on a Java
21+, with one realm imported at start: the pair's confidential client (client-credentials grant, secret made per
start, audience `kafka`), a client the broker lets in but the cluster denies everything (no rights), and one whose
tokens carry another audience. Tokens live 60 s, so a run of a few minutes refreshes them."""

import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .errors import LauncherError
from .files import PRIVATE_UMASK, make_private_dir, write_private
from .jars import CACHE_DIR, UNREACHABLE, fetched_once
from .node_config import free_ports
from .process import _die_with_parent
from .registry import find_java

KEYCLOAK_VERSION = "26.7.3"
ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:tar.gz"
REALM = "kafka"
AUDIENCE = "kafka"  # what the broker and the registry expect in a token's aud claim
CLIENT = "kafka-cli"  # the pair's client
NO_RIGHTS = "kafka-cli-no-rights"  # let in (right audience and issuer); every ACL denies it
WRONG_AUDIENCE = "kafka-cli-wrong-audience"  # its tokens say aud=billing: the broker refuses them
CLIENTS = {CLIENT: AUDIENCE, NO_RIGHTS: AUDIENCE, WRONG_AUDIENCE: "billing"}
TOKEN_SECONDS = 60
# the events the realm logs (tokens handed out and refused) at INFO, so they reach the log (debug by default)
EVENTS_AT_INFO = "--spi-events-listener--jboss-logging--success-level=info"
# A small heap (it holds one realm) and the JIT's first tier: start-up costs less CPU on a small machine
HEAP = "-Xms64m -Xmx320m"
JAVA_APPEND = "-XX:TieredStopAtLevel=1"


def keycloak_home():
    """The cache folder of this version: the unpacked distribution in `dist/`, its download lock, its marks."""
    return CACHE_DIR / f"keycloak-{KEYCLOAK_VERSION}"


def keycloak_dist():
    """The unpacked distribution (holding bin/kc.sh and lib/), fetched with Maven and unpacked with tar once.

    Not `mvn dependency:unpack`: its tar reader cuts the distribution's long file names (PAX headers) short, and
    Keycloak then misses a jar."""
    home = keycloak_home()
    fetched_once(home, home / ".complete", "Keycloak", lambda mvn: _fetch(mvn, home))
    return home / "dist" / f"keycloak-{KEYCLOAK_VERSION}"


def _fetch(mvn, home):
    partial, download = home / "dist.partial", home / "download"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    print(f"local-kafka: downloading Keycloak {KEYCLOAK_VERSION} (176 MB) from Maven Central into {home} (once)...",
          file=sys.stderr)
    proc = subprocess.run([mvn, "-B", "-q", "dependency:copy", f"-Dartifact={ARTIFACT}",
                           f"-DoutputDirectory={download}"], capture_output=True, text=True, cwd=home)
    tarball = download / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.tar.gz"
    if proc.returncode != 0 or not tarball.exists():
        log = home / "mvn.log"
        log.write_text(proc.stdout + proc.stderr)
        hint = " Maven Central could not be reached." if re.search(UNREACHABLE, proc.stdout + proc.stderr) else ""
        raise LauncherError(f"mvn could not fetch {ARTIFACT} (exit {proc.returncode}; full log: {log}).{hint}")
    untar = subprocess.run(["tar", "-xzf", str(tarball), "-C", str(partial)], capture_output=True, text=True)
    if untar.returncode != 0:
        raise LauncherError(f"tar could not unpack {tarball}: {untar.stderr.strip()[-500:]}")
    tarball.unlink()  # Maven's own repository keeps a copy
    shutil.rmtree(home / "dist", ignore_errors=True)
    partial.rename(home / "dist")
    (home / ".complete").touch()


def realm(secrets_by_client):
    """The realm imported at start: one confidential client per entry of CLIENTS, each with its audience."""
    def client(client_id):
        mapper = {"name": "audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
                  "config": {"included.custom.audience": CLIENTS[client_id], "access.token.claim": "true"}}
        return {"clientId": client_id, "enabled": True, "publicClient": False, "protocol": "openid-connect",
                "secret": secrets_by_client[client_id], "serviceAccountsEnabled": True,
                "standardFlowEnabled": False, "directAccessGrantsEnabled": False, "protocolMappers": [mapper]}

    # every token handed out (CLIENT_LOGIN) and refused (CLIENT_LOGIN_ERROR) is a line of Keycloak's log
    return {"realm": REALM, "enabled": True, "accessTokenLifespan": TOKEN_SECONDS, "eventsEnabled": True,
            "eventsListeners": ["jboss-logging"], "enabledEventTypes": ["CLIENT_LOGIN", "CLIENT_LOGIN_ERROR"],
            "clients": [client(client_id) for client_id in CLIENTS]}


def is_keycloak_process(pid, directory):
    """True if `pid` is the kc.sh of a Keycloak in `directory` (a pid from a state file may have been reused)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            return f"{directory}/bin/kc.sh".encode() in f.read()
    except (OSError, TypeError, ValueError):
        return False


def stop_keycloak(pid, directory, timeout=15):
    """SIGTERM the process group of a state file's Keycloak (kc.sh and its JVM), SIGKILL if it hangs; nothing if it
    is not ours."""
    if not is_keycloak_process(pid, directory):
        return
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)


def _signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class Keycloak:
    """One Keycloak in dev mode on a loopback port, with the realm of `realm()`; its home is a private folder
    (a copy of bin/ and conf/, links to the cached lib/ and themes/, its own data/ with H2 and the realm file)."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.port = None
        self.secrets = {}
        self.proc = None
        self.host = "127.0.0.1"

    @property
    def issuer(self):
        return f"http://{self.host}:{self.port}/realms/{REALM}"

    @property
    def token_url(self):
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def jwks_url(self):
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def log_file(self):
        return self.dir / "keycloak.log"

    def spawn(self, die_with_owner=True):
        """Start the process and return at once (wait_ready() waits): the broker's preparation runs meanwhile."""
        dist = keycloak_dist()
        java = find_java()
        if self.port is None:  # a restart keeps port, secrets and data (H2 under data/: the same keys and realm)
            self._make_home(dist)
        env = {**os.environ, "JAVA_HOME": str(Path(java).parent.parent), "JAVA_OPTS_KC_HEAP": HEAP,
               "JAVA_OPTS_APPEND": JAVA_APPEND}
        env.pop("JAVA_OPTS", None)
        out = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = subprocess.Popen(["/bin/sh", f"{self.dir}/bin/kc.sh", "start-dev", "--http-host=127.0.0.1",
                                          f"--http-port={self.port}", "--import-realm", EVENTS_AT_INFO],
                                         cwd=self.dir, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         umask=PRIVATE_UMASK, start_new_session=True,
                                         preexec_fn=_die_with_parent if die_with_owner else None)
        finally:
            os.close(out)
        return self

    def _make_home(self, dist):
        make_private_dir(self.dir)
        shutil.copytree(dist / "bin", self.dir / "bin")
        shutil.copytree(dist / "conf", self.dir / "conf")
        for shared in ("lib", "themes"):
            (self.dir / shared).symlink_to(dist / shared)
        (self.dir / "providers").mkdir(mode=0o700)
        (self.dir / "data" / "import").mkdir(mode=0o700, parents=True)
        (self.port,) = free_ports(1)
        self.secrets = {client_id: secrets.token_urlsafe(24) for client_id in CLIENTS}
        # the secrets stay off the command line (ps shows that): in a file only its owner reads
        write_private(self.dir / "data" / "import" / f"{REALM}.json", json.dumps(realm(self.secrets), indent=1))

    def begin(self, die_with_owner=True, timeout=180):
        """Start it; return at once, for wait_ready() to wait, unless this is the first start after the download:
        that one builds Keycloak's dev configuration into the shared lib/, so it holds the download lock until
        Keycloak answers, and no other start builds meanwhile."""
        home = keycloak_home()
        keycloak_dist()
        if (home / ".built").exists():
            return self.spawn(die_with_owner)
        with open(home / ".download.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.spawn(die_with_owner)
            self.wait_ready(timeout)
            (home / ".built").touch()
        return self

    def start(self, timeout=180, die_with_owner=True):
        """begin() and wait_ready(); stopped again if it does not answer."""
        try:
            self.begin(die_with_owner, timeout)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def answers(self, timeout=2.0):
        """True once the realm's OpenID configuration is served."""
        try:
            with urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration", timeout=timeout) as r:
                return r.status == 200
        except (OSError, ValueError):
            return False

    def wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None:
                raise LauncherError(f"Keycloak exited with code {self.proc.returncode} during start-up; "
                                    f"last lines of its log:\n{self.tail_log()}")
            if time.monotonic() > deadline:
                raise LauncherError(f"Keycloak did not answer in {timeout:.0f} s; last lines of its log:\n"
                                    f"{self.tail_log()}")
            time.sleep(0.3)

    def token(self, client_id=CLIENT, secret=None, timeout=5.0):
        """An access token for `client_id` (the tests read its claims), or urllib's HTTPError."""
        data = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": secret or self.secrets[client_id]}).encode()
        with urllib.request.urlopen(self.token_url, data=data, timeout=timeout) as response:
            return json.loads(response.read())["access_token"]

    def tail_log(self, lines=15):
        """The last `lines` lines of its log that are not blank (dev mode writes blank ones between records)."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM kc.sh's process group (kc.sh hands it to the JVM), SIGKILL if it hangs; data and port stay."""
        if self.proc is None:
            return
        _signal_group(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        while _group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal_group(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

