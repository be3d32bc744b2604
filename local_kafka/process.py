"""The nodes' JVMs as processes: spawn one (dying with its owner if asked), kill, pause, resume, a controlled
stop; format storage; stop several at once; tell a broker's pid from a reused one."""

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

from .errors import LauncherError
from .files import PRIVATE_UMASK


def _die_with_parent():
    """Runs in the child before exec: the kernel sends SIGTERM to the JVM if its parent dies.

    Strictly, when the *thread* that forked it ends: start and restart nodes from a long-lived thread."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class KafkaNode:
    """One JVM acting as broker and controller, on its own node id, ports and data directory.

    It can be killed, paused, stopped and started again on the same data and ports."""

    def __init__(self, node_id, directory, ports):
        self.node_id = node_id
        self.dir = Path(directory)
        self.ports = ports  # PLAINTEXT, SASL_SSL, CONTROLLER (and OAUTH with start --oauth)
        self.java_cmd = None
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def properties(self):
        return self.dir / "server.properties"

    @property
    def log_file(self):
        return self.dir / "broker.log"

    @property
    def plaintext_bootstrap(self):
        return f"127.0.0.1:{self.ports['PLAINTEXT']}"

    @property
    def sasl_ssl_bootstrap(self):
        return f"localhost:{self.ports['SASL_SSL']}"

    @property
    def oauth_bootstrap(self):
        """The OAUTH listener (start --oauth), None without it."""
        return f"localhost:{self.ports['OAUTH']}" if "OAUTH" in self.ports else None

    def spawn(self, die_with_owner):
        out = os.open(self.dir / "broker.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = subprocess.Popen(self.java_cmd + ["kafka.Kafka", str(self.properties)], cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         umask=PRIVATE_UMASK, preexec_fn=_die_with_parent if die_with_owner else None,
                                         start_new_session=True)
        finally:
            os.close(out)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        if self.running():
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.running():
            self.proc.send_signal(signal.SIGCONT)

    def stop(self, timeout=30):
        """SIGTERM (a controlled shutdown), wait, SIGKILL if it hangs."""
        if self.proc is not None:
            stop_processes([self.proc], timeout)

    def tail_log(self, lines=20):
        text = ""
        for name in ("broker.out", "broker.log"):
            f = self.dir / name
            if f.exists():
                text += f.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])



def stop_processes(procs, timeout=30, quorum=0):
    """SIGTERM all (Popen objects, or pids of brokers from a state file), wait up to `timeout`, SIGKILL the rest.

    With `quorum` (the controller majority of a cluster), nodes left running once fewer than that remain are
    killed at once: their controlled shutdown needs an active controller, and there can be none."""
    def alive(p):
        return p.poll() is None if isinstance(p, subprocess.Popen) else is_broker_process(p)

    def pid(p):
        return p.pid if isinstance(p, subprocess.Popen) else p

    procs = [p for p in procs if alive(p)]
    for p in procs:
        try:
            os.kill(pid(p), signal.SIGCONT)  # a paused JVM cannot handle SIGTERM
            os.kill(pid(p), signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = sum(1 for p in procs if alive(p))
        if running == 0 or running < quorum:
            break
        time.sleep(0.1)
    for p in procs:
        if alive(p):
            try:
                os.kill(pid(p), signal.SIGKILL)
            except ProcessLookupError:
                pass
        if isinstance(p, subprocess.Popen):
            p.wait()


def controller_majority(voters):
    return voters // 2 + 1 if voters > 1 else 0


def stop_process(pid, timeout=30, popen=None):
    """SIGTERM, wait up to `timeout`, then SIGKILL. Works for a child or a pid from a state file."""
    stop_processes([popen if popen is not None else pid], timeout)


def is_broker_process(pid, properties=None):
    """True if `pid` runs a Kafka broker (on `properties`, if given); a zombie or a reused pid does not count."""
    try:
        os.kill(pid, 0)
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (OSError, TypeError):
        return False
    return "kafka.Kafka" in argv and (properties is None or str(properties) in argv)


class SilentLogger:
    """A `logger` for confluent-kafka clients whose librdkafka log lines nobody should see
    (the readiness probes: connection refused while the broker starts)."""

    def log(self, *args, **kwargs):
        pass


_SILENT = SilentLogger()


def format_storage(nodes, cluster_id):
    """Format every node's storage for `cluster_id`, in parallel: each format is a JVM start of a few seconds."""
    # "--cluster-id=": an id may begin with "-", which argparse would take for an option
    procs = [(node, subprocess.Popen(node.java_cmd + ["kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                                                      "-c", str(node.properties)],
                                     cwd=node.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     umask=PRIVATE_UMASK))
             for node in nodes]
    failed = []
    try:
        for node, proc in procs:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"node {node.node_id}: {out.strip()[-2000:]}")
    finally:  # interrupted (Ctrl-C, a stop): no format may go on writing into a directory about to be deleted
        for _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if failed:
        raise LauncherError("formatting Kafka's storage failed: " + "\n".join(failed))
