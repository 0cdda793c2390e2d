"""The local AWS in a process of its own: it serves, keeps what it acknowledged across a stop and
a start, says why it cannot start as the in-process one does, and never outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local_platform import wiring
from local_platform.aws import LocalAws
from local_platform.aws_process import AwsProcess
from local_platform.journal import StateDamaged

STACK = "ql-test"
PK, SK = wiring.load().table["partition_key"], wiring.load().table["sort_key"]
KEPT = {PK: {"S": "u"}, SK: {"S": "kept"}}


def _alive(pid: int | None) -> bool:
    assert pid is not None, "the child was never started"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_it_serves_from_a_child_and_keeps_what_it_acknowledged_across_a_restart(tmp_path):
    aws = AwsProcess(tmp_path)
    aws.start()
    try:
        assert aws.pid is not None
        assert aws.pid != os.getpid()
        table = aws.ensure_resources(STACK)["TableName"]
        aws.client("dynamodb").put_item(TableName=table, Item=KEPT)
        aws.start_compaction()
        assert aws.not_durable is None
    finally:
        saved = aws.stop()
    assert saved == "state saved"
    assert not _alive(aws.pid)
    again = AwsProcess(tmp_path)
    again.start()
    try:
        found = again.client("dynamodb").get_item(TableName=table, Key=KEPT)
        assert found["Item"][SK] == {"S": "kept"}
    finally:
        again.stop()


def test_damaged_state_is_refused_with_the_in_process_message(tmp_path):
    (tmp_path / "aws-state.pickle").write_bytes(b"not a snapshot")
    with pytest.raises(StateDamaged) as in_process:
        LocalAws(tmp_path).start()
    aws = AwsProcess(tmp_path)
    with pytest.raises(StateDamaged) as in_child:
        aws.start()
    assert str(in_child.value) == str(in_process.value)
    assert not _alive(aws.pid)


def test_signals_to_the_group_leave_the_stop_to_the_parent(tmp_path):
    aws = AwsProcess(tmp_path)
    aws.start()
    try:
        child = aws.pid
        assert child is not None
        os.kill(child, signal.SIGINT)
        os.kill(child, signal.SIGTERM)
        time.sleep(0.5)
        assert _alive(child)
        aws.client("dynamodb").list_tables()
    finally:
        assert aws.stop() == "state saved"


def test_the_child_dies_with_a_parent_killed_without_a_word(tmp_path):
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; "
                "from local_platform.aws_process import AwsProcess; "
                "aws = AwsProcess(Path(sys.argv[1])); aws.start(); print(aws.pid, flush=True); "
                "time.sleep(600)"
            ),
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait(30)
        deadline = time.monotonic() + 30
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        parent.kill()
        parent.wait(30)


def test_a_child_that_dies_unasked_stops_the_platform_and_refuses_writes_as_not_durable(tmp_path):
    import threading

    aws = AwsProcess(tmp_path)
    aws.start()
    stopped = threading.Event()
    aws.watch(stopped)
    try:
        assert aws.not_durable is None
        child = aws.pid
        assert child is not None
        os.kill(child, signal.SIGKILL)
        assert stopped.wait(30), "the platform was not told to stop"
        assert aws.not_durable == f"the local AWS process (PID {child}) exited with code -9"
        assert not _alive(child)  # reaped, not left a zombie
    finally:
        saved = aws.stop()
    assert saved.startswith("no final snapshot")


def test_a_child_stopped_on_purpose_does_not_stop_the_platform(tmp_path):
    import threading

    aws = AwsProcess(tmp_path)
    aws.start()
    stopped = threading.Event()
    aws.watch(stopped)
    assert aws.stop() == "state saved"
    assert not stopped.wait(1)
    assert aws.lost is None
