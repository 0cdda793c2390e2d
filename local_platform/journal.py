"""What makes the local AWS state durable: snapshots of moto's backends and, between them, a
write-ahead journal of every request that changed them.

A request that changes state is appended to the journal (length, CRC32, JSON) and fsync'd after
moto has answered it and before the answer leaves, so an acknowledged write survives kill -9. On
start the newest good snapshot is loaded and the journal records after it are replayed, each with
the random seed moto drew its ids with (a Cognito user's `sub`, a pool's id), so a replayed
sign-up is the same user. Compaction writes a new snapshot and starts a new journal segment; the
snapshot before it and the segments after that one are kept, so one damaged snapshot loses nothing.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

SNAPSHOT_FILE = "aws-state.pickle"
PREVIOUS_SNAPSHOT_FILE = "aws-state.previous.pickle"
SEGMENT_PREFIX = "aws-journal-"
SEGMENT_SUFFIX = ".log"
PRIVATE = 0o600

_SNAPSHOT_MAGIC = b"OSPSNAP1"
# magic, the last journal record the snapshot holds, CRC32 and length of the pickled backends
_SNAPSHOT_HEADER = struct.Struct(">8sQIQ")
# length and CRC32 of the record's JSON
_RECORD_HEADER = struct.Struct(">II")
# moto's own pickles start with the protocol marker; a snapshot written before the journal existed
_PICKLE_START = b"\x80"

# Operations that only read: everything else of DynamoDB and Cognito changes state (InitiateAuth
# too: it stores the refresh token it hands out).
_READ_ONLY_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "AdminGet",
    "BatchGet",
    "TransactGet",
    "Scan",
    "Query",
)
_CHANGING_DESPITE_NAME = frozenset({"GetTokensFromRefreshToken"})
# What moto needs to route and parse a request again: the service and region (the signature's
# credential scope, or the target of an unsigned call) and the body's format.
RECORDED_HEADERS = ("Authorization", "X-Amz-Target", "Content-Type")


class StateDamaged(Exception):
    """A snapshot or journal file that cannot be trusted; the message names it and the recovery."""


def changes_state(target: str) -> bool:
    """Whether the request with this X-Amz-Target (e.g. `DynamoDB_20120810.PutItem`) may write."""
    if not target:
        return False
    operation = target.rsplit(".", 1)[-1]
    return operation in _CHANGING_DESPITE_NAME or not operation.startswith(_READ_ONLY_PREFIXES)


@dataclass(frozen=True)
class Record:
    sequence: int
    seed: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def encode(self) -> bytes:
        fields: dict[str, Any] = {
            "sequence": self.sequence,
            "seed": self.seed,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
        }
        try:  # the JSON bodies of DynamoDB and Cognito as they are; anything else in base64
            fields["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            fields["body_base64"] = base64.b64encode(self.body).decode("ascii")
        payload = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
        return _RECORD_HEADER.pack(len(payload), zlib.crc32(payload)) + payload

    @classmethod
    def decode(cls, payload: bytes) -> Record:
        fields: dict[str, Any] = json.loads(payload)
        return cls(
            sequence=int(fields["sequence"]),
            seed=int(fields["seed"]),
            method=str(fields["method"]),
            path=str(fields["path"]),
            query=str(fields["query"]),
            headers={str(k): str(v) for k, v in fields["headers"].items()},
            body=(
                fields["body"].encode("utf-8")
                if "body" in fields
                else base64.b64decode(fields["body_base64"])
            ),
        )


@dataclass(frozen=True)
class Snapshot:
    sequence: int
    pickled: bytes
    file: Path


def _write_all(descriptor: int, data: bytes) -> None:
    """Write every byte or raise: a disk that fills mid-record answers a short count first and
    ENOSPC only on the next write, and a record cut short must never be acknowledged."""
    unwritten = memoryview(data)
    while unwritten:
        written = os.write(descriptor, unwritten)
        if written <= 0:
            raise OSError(errno.EIO, "the write wrote nothing")
        unwritten = unwritten[written:]


def _write_private(path: Path, data: bytes) -> None:
    """Write, fsync and close a file only this user can read (it holds moto's users' passwords)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(descriptor, PRIVATE)
        _write_all(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Snapshots:
    def __init__(self, directory: Path):
        self.directory = directory
        self.current = directory / SNAPSHOT_FILE
        self.previous = directory / PREVIOUS_SNAPSHOT_FILE

    def write(self, sequence: int, pickled: bytes) -> None:
        """The new snapshot becomes current, the one it replaces becomes previous: a crash between
        the two renames leaves the previous one, which the kept journal completes."""
        temporary = self.directory / (SNAPSHOT_FILE + ".tmp")
        header = _SNAPSHOT_HEADER.pack(_SNAPSHOT_MAGIC, sequence, zlib.crc32(pickled), len(pickled))
        _write_private(temporary, header + pickled)
        if self.current.exists():
            self.current.replace(self.previous)
        temporary.replace(self.current)
        _sync_directory(self.directory)

    def previous_sequence(self) -> int | None:
        """The journal record the previous snapshot holds (read from its header only)."""
        if not self.previous.exists():
            return None
        return self._read(self.previous).sequence

    def load(self) -> Snapshot | None:
        """The newest snapshot, or None on a first start; a damaged one is an error, never skipped
        silently (what it held after the previous one may be in no journal any more)."""
        if self.current.exists():
            return self._read(self.current)
        if self.previous.exists():
            return self._read(self.previous)
        return None

    def _read(self, file: Path) -> Snapshot:
        data = file.read_bytes()
        if data.startswith(_PICKLE_START):
            return Snapshot(0, data, file)  # written by the platform before it had a journal
        problem = None
        if len(data) < _SNAPSHOT_HEADER.size:
            problem = f"it is {len(data)} bytes long, shorter than its header"
        else:
            magic, sequence, crc, length = _SNAPSHOT_HEADER.unpack_from(data)
            pickled = data[_SNAPSHOT_HEADER.size :]
            if magic != _SNAPSHOT_MAGIC:
                problem = "it does not start as a snapshot of this platform does"
            elif len(pickled) != length:
                problem = f"it holds {len(pickled)} bytes of state where its header says {length}"
            elif zlib.crc32(pickled) != crc:
                problem = "its checksum does not match its content"
            else:
                return Snapshot(sequence, pickled, file)
        raise StateDamaged(self.damaged_message(file, problem))

    def damaged_message(self, file: Path, problem: str) -> str:
        other = self.previous if file == self.current else None
        if other is not None and other.exists():
            recovery = (
                f"the previous snapshot {other.name} and the journal after it are kept: move "
                f"{file} away (e.g. `mv {file} {file}.damaged`) and start again to recover from them"
            )
        else:
            recovery = (
                f"no earlier snapshot is kept: move {file} away (e.g. `mv {file} {file}.damaged`) "
                f"to start from the journal alone, which holds everything only if it begins at record 1"
            )
        return f"the saved AWS state {file} is damaged ({problem}); {recovery}."


class Journal:
    """Segments `aws-journal-<first record>.log`; one per snapshot interval."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.notes: list[str] = []
        self._file: IO[bytes] | None = None
        self.segment: Path | None = None
        self.records_in_segment = 0

    def segments(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"):
            first = path.name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
            if first.isdigit():
                found.append((int(first), path))
        return sorted(found)

    def records(self, after: int) -> Iterator[Record]:
        """Every record after `after`, in order. A torn record at the very end (a kill during its
        append: it was never acknowledged) is cut off with a note; damage anywhere else stops the
        start with a message naming the file."""
        segments = self.segments()
        expected = after + 1
        for index, (first, path) in enumerate(segments):
            last_segment = index == len(segments) - 1
            following = segments[index + 1][0] if not last_segment else None
            if following is not None and following <= after + 1:
                continue  # all of it is in the snapshot
            if first > expected:
                raise StateDamaged(
                    f"the journal has no record {expected}: {path.name} starts at {first} and no "
                    f"snapshot or earlier segment holds the records before it; the snapshot is kept. "
                    f"Move {path} away to start without the writes it holds."
                )
            for record in self._read_segment(path, last_segment):
                if record.sequence < expected:
                    continue
                if record.sequence != expected:
                    raise StateDamaged(
                        f"the journal {path} jumps from record {expected - 1} to {record.sequence}; "
                        f"the snapshot is kept. Move {path} away to start without the writes it holds."
                    )
                expected += 1
                yield record

    def _read_segment(self, path: Path, last_segment: bool) -> Iterator[Record]:
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            problem = self._problem_at(data, offset)
            if problem is None:
                length = _RECORD_HEADER.unpack_from(data, offset)[0]
                start = offset + _RECORD_HEADER.size
                yield Record.decode(data[start : start + length])
                offset = start + length
                continue
            torn = last_segment and not self._any_record_after(data, offset)
            if not torn:
                raise StateDamaged(
                    f"the journal {path} is damaged at byte {offset} ({problem}) with writes after "
                    f"it; the snapshot and every journal file are kept as they are. To start from "
                    f"the writes before the damage, keep a copy and cut the file there "
                    f"(`cp {path} {path}.damaged && truncate -s {offset} {path}`)."
                )
            self.notes.append(
                f"the journal {path.name} ended in a write cut short at byte {offset} ({problem}); "
                f"it was never acknowledged and is dropped"
            )
            with path.open("r+b") as file:
                file.truncate(offset)
                os.fsync(file.fileno())
            return

    @staticmethod
    def _problem_at(data: bytes, offset: int) -> str | None:
        if len(data) - offset < _RECORD_HEADER.size:
            return "a record header cut short"
        length, crc = _RECORD_HEADER.unpack_from(data, offset)
        payload = data[offset + _RECORD_HEADER.size : offset + _RECORD_HEADER.size + length]
        if len(payload) < length:
            return "a record cut short"
        if zlib.crc32(payload) != crc:
            return "a record whose checksum does not match"
        try:
            Record.decode(payload)
        except (ValueError, KeyError, TypeError, AttributeError):
            return "a record that is not a request"
        return None

    def _any_record_after(self, data: bytes, offset: int) -> bool:
        """Whether a whole, valid record starts anywhere after the bad one (then it is not a torn
        tail but damage in the middle)."""
        for start in range(offset + 1, len(data) - _RECORD_HEADER.size):
            if self._problem_at(data, start) is None:
                return True
        return False

    def open_segment(self, first_sequence: int) -> None:
        """Append from now on to the segment whose first record is `first_sequence`."""
        self.close()
        self.segment = self.directory / f"{SEGMENT_PREFIX}{first_sequence:012d}{SEGMENT_SUFFIX}"
        descriptor = os.open(self.segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE)
        os.fchmod(descriptor, PRIVATE)
        self._file = os.fdopen(descriptor, "ab", buffering=0)
        self.records_in_segment = 0
        _sync_directory(self.directory)

    def append(self, record: Record) -> None:
        if self._file is None:
            raise RuntimeError("the journal has no open segment")
        _write_all(self._file.fileno(), record.encode())
        os.fsync(self._file.fileno())
        self.records_in_segment += 1

    def prune(self, kept_from: int) -> None:
        """Delete the segments wholly before record `kept_from` (the previous snapshot holds them)."""
        segments = self.segments()
        for index, (_first, path) in enumerate(segments[:-1]):
            if segments[index + 1][0] <= kept_from and path != self.segment:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
