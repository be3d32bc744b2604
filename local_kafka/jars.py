"""Which Kafka runs and where its jars come from: the version (argument, LOCAL_KAFKA_VERSION, or the default),
Java 17+, and the broker's jars fetched once from Maven Central with mvn into a per-version cache."""

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import LauncherError

KAFKA_VERSION = "4.3.1"  # the default
OLDEST_VERSION = (3, 6)  # KRaft combined mode with today's properties works from here on
LOG4J_VERSION = "2.25.4"
CACHE_DIR = Path(os.environ.get("LOCAL_KAFKA_CACHE", Path.home() / ".cache" / "kafka-cli-local"))

DEPENDENCY = ('    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>'
              '<version>{version}</version></dependency>\n')
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>local-kafka-jars</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}  </dependencies>
</project>
"""
UNREACHABLE = r"(UnknownHost|Connection refused|connect timed out|Could not transfer|Network is unreachable)"


def kafka_version(version=None):
    """The version to run: `version` if given, else $LOCAL_KAFKA_VERSION, else the default. Refuses what is not
    a release number (x.y.z) and anything older than 3.6."""
    version = version or os.environ.get("LOCAL_KAFKA_VERSION") or KAFKA_VERSION
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        raise LauncherError(f"Kafka version {version!r} is not a release number such as {KAFKA_VERSION}")
    if (int(match.group(1)), int(match.group(2))) < OLDEST_VERSION:
        raise LauncherError(f"Kafka {version} is too old for local_kafka, which configures KRaft nodes as Kafka "
                            f"{'.'.join(map(str, OLDEST_VERSION))} and later accept them; pick 3.6.0 or newer")
    return version


def uses_log4j2(version):
    """Kafka 4 logs through log4j 2; 3.x through log4j 1 (reload4j), which needs its own config file."""
    return int(version.split(".")[0]) >= 4


def check_java(version=KAFKA_VERSION):
    """The path of a Java 17+ `java` on PATH."""
    java = shutil.which("java")
    if not java:
        raise LauncherError("java was not found on PATH. Install a Java 17+ JDK "
                            "(Debian: apt-get install openjdk-17-jdk-headless).")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match.group(2):  # "1.8" style
        major = int(match.group(2))
    if major < 17:
        raise LauncherError(f"Kafka {version} needs Java 17 or newer; `java -version` says: "
                            f"{out.strip().splitlines()[0]}. Install openjdk-17-jdk-headless.")
    return java


def pom(version):
    """A throwaway POM whose runtime dependencies are a runnable broker (and the Java tools) of `version`."""
    artifacts = [("org.apache.kafka", "kafka_2.13", version), ("org.apache.kafka", "kafka-tools", version)]
    if uses_log4j2(version):  # 3.x brings its own binding (slf4j-reload4j)
        artifacts.append(("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION))
    return POM.format(dependencies="".join(DEPENDENCY.format(group=g, artifact=a, version=v) for g, a, v in artifacts))


def fetched_once(home, complete, what, fetch):
    """Make sure `complete` (a marker file) exists under `home`, calling fetch(mvn) to make it if not: once per
    cache, whatever the number of starts racing (a second one waits on the lock, then finds the marker)."""
    if complete.exists():
        return
    mvn = shutil.which("mvn")
    if not mvn:
        raise LauncherError(f"mvn (Apache Maven) was not found on PATH; it downloads {what} from Maven Central. "
                            "Install it (Debian: apt-get install maven).")
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".download.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another start fetching the same thing: wait, then use what it fetched
        if not complete.exists():
            fetch(mvn)


def jar_dir(version=KAFKA_VERSION):
    """The Kafka broker and tools jars of `version`, downloaded once into the cache with Maven."""
    lib = CACHE_DIR / f"kafka-{version}" / "lib"
    fetched_once(lib.parent, lib / ".complete", "Kafka's jars", lambda mvn: download(mvn, version, lib))
    return lib


def download(mvn, version, lib):
    """Fetch the jars of `version` into `lib`, through a partial directory so that `lib` is whole or absent."""
    build = lib.parent / "build"
    build.mkdir(parents=True, exist_ok=True)
    (build / "pom.xml").write_text(pom(version))
    tmp_lib = lib.parent / "lib.partial"
    shutil.rmtree(tmp_lib, ignore_errors=True)
    print(f"local-kafka: downloading Apache Kafka {version} jars from Maven Central into {lib.parent} (once)...",
          file=sys.stderr)
    proc = subprocess.run([mvn, "-B", "-q", "-f", str(build / "pom.xml"), "dependency:copy-dependencies",
                           "-DincludeScope=runtime", f"-DoutputDirectory={tmp_lib}"], capture_output=True, text=True)
    if proc.returncode != 0:
        log = build / "mvn.log"
        log.write_text(proc.stdout + proc.stderr)
        hint = ""
        if re.search(UNREACHABLE, proc.stdout + proc.stderr):
            hint = " Maven Central could not be reached: check the network, or a proxy/mirror in ~/.m2/settings.xml."
        elif re.search(r"Could not find artifact org\.apache\.kafka", proc.stdout + proc.stderr):
            hint = f" Maven Central has no Kafka {version}: is it a released version (see kafka.apache.org/downloads)?"
        raise LauncherError(f"mvn could not fetch Kafka {version} from Maven Central (exit {proc.returncode}; "
                            f"full log: {log}).{hint}")
    shutil.rmtree(lib, ignore_errors=True)
    tmp_lib.rename(lib)
    (lib / ".complete").touch()


def classpath(version=KAFKA_VERSION):
    return os.pathsep.join(str(p) for p in sorted(jar_dir(version).glob("*.jar")))
