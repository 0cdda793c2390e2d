"""The local AWS (moto, its journal and its snapshots: `local_platform.aws.LocalAws`) in a process
of its own, beside the one that runs the API and the engine.

Both halves of every DynamoDB call are Python: botocore signing, sending and parsing it in the
functions, and moto parsing, answering and journaling it. In one process they share one GIL, so a
trading day ran on one core of two. Forked off before the platform starts any thread, the child
serves moto on a loopback port exactly as before; the parent talks to it over HTTP only, and over
a pipe for three things: it started (or why not), start the background snapshots, and stop (the
final snapshot, whose outcome comes back in words for the console).

The child takes no signal of its own: Ctrl-C and SIGTERM reach the platform's process group, and
the parent stops the child after the front and the engine, as it stopped the in-process moto. If
the parent dies without stopping it (kill -9), the kernel kills the child (the parent-death
signal); every write it acknowledged is journaled already.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local_platform.aws import REGION, STOP_WAIT_SECONDS, AwsEndpoint, LocalAws
from local_platform.journal import StateDamaged

REASON_BYTES = 2048  # room for why the state stopped being durable
_PR_SET_PDEATHSIG = 1


class AwsProcessFailed(RuntimeError):
    """The child could not start the local AWS for a reason that is neither damaged state nor an
    OS error; the message holds its traceback."""


class _ChildAws(LocalAws):
    """LocalAws that also tells the parent, through shared memory, when it stops being durable
    (the front refuses every write from then on, in the parent)."""

    def __init__(self, data_dir: Path, region: str, reason: Any):
        super().__init__(data_dir, region)
        self._reason = reason

    def fail_stop(self, reason: str) -> None:
        super().fail_stop(reason)
        self._reason.value = reason.encode("utf-8", "replace")[: REASON_BYTES - 1]


def _die_with(parent: int) -> None:
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def _serve(
    data_dir: Path, region: str, pipe: Connection, reason: Any, parent: int, close: list[int]
) -> None:
    for descriptor in close:  # the data dir's lock: only the platform's own process holds it
        with contextlib.suppress(OSError):
            os.close(descriptor)
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    aws = _ChildAws(data_dir, region, reason)
    try:
        endpoint = aws.start()
    except StateDamaged as error:
        pipe.send(("damaged", str(error)))
        return
    except OSError as error:
        pipe.send(("os_error", (error.errno, error.strerror, error.filename)))
        return
    except Exception:  # anything else: the parent says it and exits, nothing is left running
        pipe.send(("failed", traceback.format_exc()))
        return
    pipe.send(("started", (endpoint, aws.notes)))
    while True:
        try:
            command, argument = pipe.recv()
        except (EOFError, OSError):  # the parent is gone without a word: save what is there
            command, argument = "stop", STOP_WAIT_SECONDS
        if command == "compaction":
            aws.start_compaction()
        elif command == "stop":
            saved = aws.stop(float(argument))
            with contextlib.suppress(OSError):
                pipe.send(("stopped", saved))
            return


class AwsProcess(AwsEndpoint):
    """`LocalAws`'s lifecycle (start, start_compaction, stop, notes, not_durable) with the moto
    server in a child process."""

    def __init__(self, data_dir: Path, region: str = REGION, close_in_child: Iterable[int] = ()):
        super().__init__(data_dir, region)
        self.notes: list[str] = []
        self._close_in_child = list(close_in_child)
        # fork: the child starts with the modules (and moto's patches) already loaded, in
        # milliseconds; the platform has started no thread yet when it forks.
        self._context = multiprocessing.get_context("fork")
        # A `c` array has `.value` (bytes up to the first NUL), which its stubs do not know.
        self._reason: Any = self._context.Array("c", REASON_BYTES)
        self._pipe: Connection | None = None
        self._process: Any = None
        self._stopping = False
        # Why the child is gone though nobody stopped it (it was killed, or it crashed), or None.
        self.lost: str | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def not_durable(self) -> str | None:
        reason: bytes = self._reason.value
        if reason:
            return reason.decode("utf-8", "replace")
        return self.lost

    def watch(self, stopped: threading.Event) -> None:
        """Stop the platform (set `stopped`) if the child exits before it is asked to: every
        request would otherwise fail against an endpoint that is gone. Until the platform has
        stopped, writes are refused as not durable (`lost`); a restart recovers every write the
        child acknowledged."""

        def wait() -> None:
            process = self._process
            if process is None:
                return
            multiprocessing.connection.wait([process.sentinel])
            if self._stopping:
                return
            process.join()
            self.lost = (
                f"the local AWS process (PID {process.pid}) exited with code {process.exitcode}"
            )
            line = (
                f"AWS state: {self.lost}; the platform stops. Start it again: every write it "
                f"acknowledged is in the journal"
            )
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
            stopped.set()

        threading.Thread(target=wait, name="local-aws-watch", daemon=True).start()

    def start(self, timeout: float = 600.0) -> str:
        """Fork the child, which loads the state (snapshot, then journal) and serves it; its
        endpoint. Raises StateDamaged or OSError as `LocalAws.start` does, in this process."""
        ours, theirs = self._context.Pipe()
        self._process = self._context.Process(
            target=_serve,
            args=(
                self.data_dir,
                self.region,
                theirs,
                self._reason,
                os.getpid(),
                self._close_in_child,
            ),
            name="local-aws",
            daemon=True,
        )
        self._process.start()
        theirs.close()
        self._pipe = ours
        if not ours.poll(timeout):
            self._end()
            raise AwsProcessFailed(f"the local AWS did not start within {timeout:g} s")
        try:
            kind, detail = ours.recv()
        except EOFError:
            self._end()
            raise AwsProcessFailed(
                f"the local AWS exited while it started (exit code {self._process.exitcode})"
            ) from None
        if kind == "started":
            self.endpoint_url, self.notes = detail
            return self.endpoint_url
        self._end()
        if kind == "damaged":
            raise StateDamaged(detail)
        if kind == "os_error":
            raise OSError(*detail)
        raise AwsProcessFailed(f"the local AWS failed to start:\n{detail}")

    def start_compaction(self) -> None:
        if self._pipe is not None:
            self._pipe.send(("compaction", None))

    def stop(self, wait_seconds: float = STOP_WAIT_SECONDS) -> str:
        """Stop the child: it stops serving and takes the final snapshot (each thing in hand
        waited for at most `wait_seconds`, as `LocalAws.stop`); what it saved, in words."""
        self._stopping = True
        saved = (
            "no final snapshot (the local AWS did not answer); the journal holds every "
            "acknowledged write"
        )
        if self._pipe is not None and self._process is not None and self._process.is_alive():
            # If it died, the journal holds what it acknowledged: the words above say so.
            with contextlib.suppress(EOFError, OSError):
                self._pipe.send(("stop", wait_seconds))
                # The child's stop waits up to wait_seconds for each of four things.
                if self._pipe.poll(4 * wait_seconds + 10):
                    _kind, saved = self._pipe.recv()
        self._end(wait_seconds)
        return saved

    def _end(self, wait_seconds: float = STOP_WAIT_SECONDS) -> None:
        if self._process is not None:
            self._process.join(wait_seconds)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(wait_seconds)
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
