"""Private files and directories: the launcher's directories hold passwords and keys, so each is 0700 and
every file in it is born 0600; only a directory carrying the launcher's marker is ever deleted."""

import os
import shutil
import stat
from pathlib import Path

from .errors import LauncherError

MARKER = ".made-by-local-kafka"
# Every process the launcher starts (openssl, the JVMs) runs with this umask, so keys, data and logs
# are born private rather than tightened afterwards.
PRIVATE_UMASK = 0o077
OWN_FILES_HINT = "point LOCAL_KAFKA_STATE (or workdir=) at a new or empty directory of your own"


def write_private(path, text):
    """Create `path` readable by its owner only from the first byte on. An existing file, or a link
    planted in its place, is refused rather than written through."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise LauncherError(f"{path} already exists; local_kafka writes only new files ({OWN_FILES_HINT})") from None
    with os.fdopen(fd, "w") as f:
        f.write(text)


def check_private_dir(path):
    """Refuse a directory that another user owns or could read: it would hold passwords and keys."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise LauncherError(f"{path} is a symbolic link; local_kafka keeps passwords and keys only in a real "
                            f"directory of its own ({OWN_FILES_HINT}).")
    if not stat.S_ISDIR(st.st_mode):
        raise LauncherError(f"{path} exists and is not a directory ({OWN_FILES_HINT}).")
    if st.st_uid != os.getuid():
        raise LauncherError(f"{path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}); local_kafka keeps "
                            f"passwords and keys there, so it uses only a directory you own ({OWN_FILES_HINT}).")
    if st.st_mode & 0o077:
        raise LauncherError(f"{path} is open to other users (mode {stat.S_IMODE(st.st_mode):04o}); local_kafka keeps "
                            f"passwords and keys there. Make it private (chmod 700 {path}) or {OWN_FILES_HINT}.")


def make_private_dir(path):
    """A directory for the launcher's files, marked as made by it, so that it may later delete it whole.

    A new one is created 0700. An existing one is taken only if it is ours, private and empty: then
    nothing of anybody else's is in it, and marking it is safe."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        check_private_dir(path)
        if any(entry.name != MARKER for entry in os.scandir(path)):
            raise LauncherError(f"{path} is not empty, and local_kafka did not make it; it deletes its directory "
                                f"when Kafka stops, so it will not share one ({OWN_FILES_HINT}).")
    if not (path / MARKER).exists():
        write_private(path / MARKER, "Made by local_kafka, which deletes this directory when its Kafka stops.\n")
    return path


def made_by_launcher(path):
    """True if `path` is a real directory of ours holding the launcher's marker."""
    try:
        st = os.lstat(path)
        marker = os.lstat(os.path.join(path, MARKER))
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and stat.S_ISREG(marker.st_mode)


def remove_own_dir(path):
    """Delete `path` if the launcher made it; anything else is left alone. True if it is gone."""
    if not os.path.lexists(path):
        return True
    if not made_by_launcher(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)
