"""The shell face's record of its background Kafka: the state directory, the state file in it, the lock
file beside it that lets one `start` or `stop` at a time work on that directory, and the ports file beside it
that lets the next `start` listen where the last one did.

The lock lives outside the state directory because a start deletes and recreates that directory. It is an
flock(2) held by the starting or stopping process for as long as it works, so it dies with that process
(even SIGKILLed); the file also says which pid holds it and for what, for the refusal's message. The ports
file lives outside it too, so that `stop` (which deletes the directory) leaves it: a client config copied
from one start still finds the next."""

import contextlib
import fcntl
import json
import os
import stat
import tempfile
import time
from pathlib import Path

from .errors import LauncherError
from .files import write_private
from .node_config import ALL_LISTENER_NAMES
from .process import is_broker_process

STATE_DIR = Path(os.environ.get("LOCAL_KAFKA_STATE", Path(tempfile.gettempdir()) / f"local-kafka-{os.getuid()}"))


class Busy(LauncherError):
    """Another launcher process holds the state directory's lock; `holder` is (pid, action) or None."""

    def __init__(self, message, holder):
        super().__init__(message)
        self.holder = holder


def state_file(state_dir=None):
    return Path(state_dir or STATE_DIR) / "state.json"


def read_state(state_dir=None):
    """The state file of the launcher's background Kafka, with each node's liveness; None if there is none."""
    try:
        state = json.loads(state_file(state_dir).read_text())
        nodes = state["nodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for node in nodes:
        node["alive"] = is_broker_process(node.get("pid"), node.get("properties"))
    state["alive"] = all(node["alive"] for node in nodes)  # every node serves
    state["running"] = any(node["alive"] for node in nodes)  # something to stop
    return state


def write_state(broker, state_dir=None):
    write_private(state_file(state_dir), json.dumps(broker.describe(), indent=2))


# -- the ports of the last start -------------------------------------------------------------
def ports_path(state_dir=None):
    state_dir = Path(state_dir or STATE_DIR)
    return state_dir.parent / f".{state_dir.name}.ports"


def _ports_of(data):
    """{node id: {listener: port}} from the ports file's JSON; ValueError (or a TypeError, ...) if it is not that."""
    nodes = {}
    for node_id, ports in data["nodes"].items():
        nodes[int(node_id)] = {name: int(ports[name]) for name in ALL_LISTENER_NAMES if name in ports}
        if not all(0 < port < 65536 for port in nodes[int(node_id)].values()):
            raise ValueError("not a port")
    return nodes


def remembered_ports(state_dir=None):
    """The ports the last successful start in `state_dir` listened on, {node id: {listener: port}}; {} if there
    is no such file, or it is not a file of yours, or not what remember_ports() writes."""
    try:
        fd = os.open(ports_path(state_dir), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return {}
    with os.fdopen(fd) as f:
        st = os.fstat(f.fileno())
        if st.st_uid != os.getuid() or not stat.S_ISREG(st.st_mode):
            return {}
        try:
            return _ports_of(json.loads(f.read(100_000)))
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}


def remember_ports(broker, state_dir=None):
    """Write `broker`'s ports beside the state directory for the next start (replacing the last start's);
    None, or why it could not."""
    path = ports_path(state_dir)
    text = json.dumps({"nodes": {str(node.node_id): node.ports for node in broker.nodes.values()}})
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.")  # 0600, a new file
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
        return None
    except OSError as e:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return f"cannot write {path}: {e.strerror}"


# -- the lock --------------------------------------------------------------------------------
def lock_path(state_dir):
    state_dir = Path(state_dir)
    return state_dir.parent / f".{state_dir.name}.lock"


def _open_lock(path):
    """The lock file, opened without following a link planted in its place (it may sit in a shared /tmp)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise LauncherError(f"cannot open the lock file {path}: {e.strerror}") from None
    st = os.fstat(fd)
    if st.st_uid != os.getuid() or not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise LauncherError(f"{path} is not a file of yours; local_kafka keeps its lock there. Remove it, or "
                            "point LOCAL_KAFKA_STATE at a directory of your own.")
    return fd


def _holder(fd):
    """(pid, action) as written by the lock's holder, or None while it has not written yet."""
    for _ in range(20):  # a holder writes right after taking the lock: give it a moment
        text = os.pread(fd, 200, 0).decode(errors="replace").split()
        if len(text) == 2 and text[0].isdigit():
            return int(text[0]), text[1]
        time.sleep(0.05)
    return None


def holder_of(state_dir):
    """(pid, action) of a live process that holds the lock of `state_dir` now, else None. Reads the file only:
    it takes no lock, so it never gets in the way of a start."""
    try:
        text = lock_path(state_dir).read_text().split()
        pid, action = int(text[0]), text[1]
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid, action


def _take(fd, wait):
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)


@contextlib.contextmanager
def locked(state_dir, action, wait=0.0):
    """Hold the lock of `state_dir` for `action` ("start" or "stop"), waiting up to `wait` seconds for it.

    Raises Busy, naming the holder, if another process keeps it that long."""
    fd = _open_lock(lock_path(state_dir))
    try:
        if not _take(fd, wait):
            holder = _holder(fd)
            who = f"pid {holder[0]}" if holder else "another process"
            doing = {"start": "being started", "stop": "being stopped"}.get(holder and holder[1], "in use")
            raise Busy(f"the local Kafka in {state_dir} is {doing} by {who}", holder)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {action}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # empty while nobody holds it, so holder_of() reads no stale pid
    finally:
        os.close(fd)
