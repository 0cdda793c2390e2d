"""One platform per data dir: two on the same files would each replay and journal over the
other's writes, and the second to stop would delete the first one's outputs.json."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "platform.lock"


class DataDirInUse(Exception):
    """Another platform holds this data dir; the message names its PID and the way out."""


def hold_data_dir(data_dir: Path) -> IO[str]:
    """Take the data dir for this process (released when the process ends, however it ends).
    Keep the returned file open for as long as the platform runs."""
    path = data_dir / LOCK_FILE
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    held = os.fdopen(descriptor, "r+")
    try:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = held.read().strip() or "unknown"
        held.close()
        raise DataDirInUse(
            f"another local platform (PID {holder}) is running on {data_dir}; stop it first "
            f"(Ctrl-C in its terminal, or `kill {holder}`), or give this one another --data-dir"
        ) from None
    held.seek(0)
    held.truncate()
    held.write(f"{os.getpid()}\n")
    held.flush()
    return held
