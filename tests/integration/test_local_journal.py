"""The local platform's AWS state: journaled writes replayed after a crash, damaged files refused
with a message naming them, resources found again by name, the data dir's own signing key."""

import json
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from joserfc import jwk, jwt
from moto.backends import get_backend
from moto.cognitoidp import models as cognito_models
from moto.cognitoidp import responses as cognito_responses
from moto.utilities.utils import load_resource

from local_platform.auth import IdTokenVerifier
from local_platform.aws import SERVICES, LocalAws
from local_platform.journal import (
    PREVIOUS_SNAPSHOT_FILE,
    SNAPSHOT_FILE,
    Journal,
    StateDamaged,
    changes_state,
)

STACK = "journal-test"
PASSWORD = "Tr4der!pass"


@pytest.fixture(autouse=True)
def packaged_moto():
    """Each test starts from empty backends and leaves moto as it found it (its key included)."""
    loader, published = (
        cognito_models.load_resource,
        cognito_responses.CognitoIdpJsonWebKeyResponse.json_web_key,
    )
    _forget_everything()
    yield
    _forget_everything()
    cognito_models.load_resource = loader
    cognito_responses.CognitoIdpJsonWebKeyResponse.json_web_key = published


def _forget_everything():
    """What a process that died loses: everything moto held in memory."""
    for service in SERVICES:
        get_backend(service).reset()


class Running:
    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.aws = LocalAws(data_dir)
        self.aws.start()
        self.resources = self.aws.ensure_resources(STACK)
        self.idp, self.dynamodb = self.aws.client("cognito-idp"), self.aws.client("dynamodb")

    def crash(self) -> None:
        """As kill -9 would: no final snapshot; only what was fsync'd stays."""
        if self.aws._server:
            self.aws._server.stop()
        if self.aws.journal:
            self.aws.journal.close()
        _forget_everything()

    def sign_up(self, username: str) -> str:
        idp = self.idp
        client_id = self.resources["UserPoolClientId"]
        idp.sign_up(
            ClientId=client_id,
            Username=username,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
        )
        idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode="000000")
        return self.sub(username)

    def sub(self, username: str) -> str:
        user = self.idp.admin_get_user(UserPoolId=self.resources["UserPoolId"], Username=username)
        return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")

    def id_token(self, username: str) -> str:
        result = self.idp.initiate_auth(
            ClientId=self.resources["UserPoolClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )
        return result["AuthenticationResult"]["IdToken"]

    def put(self, user: str, key: str) -> None:
        self.dynamodb.put_item(
            TableName=self.resources["TableName"],
            Item={"user_id": {"S": user}, "sort_key": {"S": key}, "name": {"S": key}},
        )

    def sort_keys(self) -> set[str]:
        items = self.dynamodb.scan(TableName=self.resources["TableName"])["Items"]
        return {item["sort_key"]["S"] for item in items}

    def verifier(self) -> IdTokenVerifier:
        pool = self.resources["UserPoolId"]
        return IdTokenVerifier(
            self.aws.jwks_url(pool), self.aws.issuer(pool), self.resources["UserPoolClientId"]
        )

    def stop(self) -> None:
        self.aws.stop()
        _forget_everything()


def test_a_crash_loses_no_acknowledged_write_and_a_replayed_sign_up_is_the_same_user(tmp_path):
    first = Running(tmp_path)
    sub = first.sign_up("asha")
    for n in range(12):
        first.put(sub, f"STRATEGY#{n}")
    first.crash()

    again = Running(tmp_path)
    try:
        # A user's data is keyed by sub: a new sub would orphan all of it.
        assert again.sub("asha") == sub
        assert again.sort_keys() == {f"STRATEGY#{n}" for n in range(12)}
        assert again.resources == first.resources
        assert any("replayed" in note for note in again.aws.notes)
        assert again.id_token("asha")  # the password came back with the user
    finally:
        again.stop()


def test_compaction_then_a_crash_keeps_what_came_before_and_after_it(tmp_path):
    first = Running(tmp_path)
    sub = first.sign_up("ravi")
    first.put(sub, "BASKET#1")
    first.aws.compact()
    first.put(sub, "BASKET#2")
    first.aws.compact()
    first.put(sub, "BASKET#3")
    first.crash()

    again = Running(tmp_path)
    try:
        assert again.sort_keys() == {"BASKET#1", "BASKET#2", "BASKET#3"}
        assert again.sub("ravi") == sub
        assert (tmp_path / PREVIOUS_SNAPSHOT_FILE).exists()
        # Segments wholly before the previous snapshot are gone; the rest stay.
        assert len(Journal(tmp_path).segments()) <= 3
    finally:
        again.stop()


def test_reads_are_not_journaled(tmp_path):
    running = Running(tmp_path)
    try:
        before = running.aws.sequence
        running.sort_keys()
        running.aws.client("dynamodb").describe_table(TableName=running.resources["TableName"])
        assert running.aws.sequence == before
        running.put("u", "ONE")
        assert running.aws.sequence == before + 1
    finally:
        running.stop()
    assert changes_state("DynamoDB_20120810.TransactWriteItems")
    assert changes_state("AWSCognitoIdentityProviderService.SignUp")
    assert changes_state("AWSCognitoIdentityProviderService.InitiateAuth")
    assert not changes_state("DynamoDB_20120810.Query")
    assert not changes_state("AWSCognitoIdentityProviderService.AdminGetUser")
    assert not changes_state("")


def test_a_write_cut_short_at_the_end_of_the_journal_is_dropped_with_a_note(tmp_path):
    first = Running(tmp_path)
    first.put("u", "KEPT")
    segment = first.aws.journal.segment
    first.crash()
    with segment.open("ab") as journal:
        journal.write(
            b"\x00\x00\x01\x00\x12\x34"
        )  # a header and no record: the kill came mid-append

    again = Running(tmp_path)
    try:
        assert "KEPT" in again.sort_keys()
        assert any("cut short" in note for note in again.aws.notes)
        again.put("u", "AFTER")
    finally:
        again.crash()
    third = Running(tmp_path)
    try:
        assert {"KEPT", "AFTER"} <= third.sort_keys()
    finally:
        third.stop()


def test_damage_before_the_end_of_the_journal_stops_the_start_naming_the_file(tmp_path):
    first = Running(tmp_path)
    first.put("u", "ONE")
    first.put("u", "TWO")
    segment = first.aws.journal.segment
    first.crash()
    data = bytearray(segment.read_bytes())
    data[20] ^= 0xFF  # inside the first record, with whole records after it
    segment.write_bytes(bytes(data))

    with pytest.raises(StateDamaged) as refused:
        LocalAws(tmp_path).start()
    message = str(refused.value)
    assert str(segment) in message
    assert "truncate" in message
    assert segment.read_bytes() == bytes(data)  # nothing was cut or rewritten


def test_a_damaged_snapshot_names_the_file_and_the_previous_one_recovers_everything(tmp_path):
    first = Running(tmp_path)
    sub = first.sign_up("meera")
    first.put(sub, "A")
    first.aws.compact()
    first.put(sub, "B")
    first.aws.compact()
    first.put(sub, "C")
    first.crash()
    snapshot = tmp_path / SNAPSHOT_FILE
    snapshot.write_bytes(snapshot.read_bytes()[:-50])  # truncated

    with pytest.raises(StateDamaged) as refused:
        LocalAws(tmp_path).start()
    message = str(refused.value)
    assert str(snapshot) in message
    assert PREVIOUS_SNAPSHOT_FILE in message
    assert "mv " in message

    snapshot.rename(tmp_path / "aws-state.pickle.damaged")
    again = Running(tmp_path)
    try:
        assert again.sort_keys() == {"A", "B", "C"}
        assert again.sub("meera") == sub
    finally:
        again.stop()


def test_garbage_in_place_of_the_snapshot_is_refused(tmp_path):
    Running(tmp_path).stop()
    (tmp_path / SNAPSHOT_FILE).write_bytes(b"not a snapshot at all, just some bytes of something")
    with pytest.raises(StateDamaged, match="does not start as a snapshot"):
        LocalAws(tmp_path).start()


def test_a_missing_resources_file_finds_the_table_pool_and_client_again_by_name(tmp_path):
    first = Running(tmp_path)
    sub = first.sign_up("kiran")
    first.stop()
    (tmp_path / "resources.json").unlink()

    again = Running(tmp_path)
    try:
        assert again.resources == first.resources
        assert again.sub("kiran") == sub
        assert json.loads((tmp_path / "resources.json").read_text()) == first.resources
        pools = again.aws.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
        assert len(pools) == 1
    finally:
        again.stop()


def test_state_journal_and_key_files_are_readable_by_this_user_only(tmp_path):
    running = Running(tmp_path)
    running.sign_up("dev")
    running.aws.compact()
    running.stop()
    private = [
        *tmp_path.glob("aws-journal-*.log"),
        tmp_path / SNAPSHOT_FILE,
        tmp_path / "cognito-signing-key.pem",
    ]
    assert len(private) >= 3
    for file in private:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def _token_with_moto_packaged_key(running: Running) -> str:
    """What anyone with the moto package could mint: its published private key, kid and all."""
    packaged = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    now = int(time.time())
    claims = {
        "iss": running.aws.issuer(running.resources["UserPoolId"]),
        "aud": running.resources["UserPoolClientId"],
        "sub": "forged-sub",
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
        "cognito:username": "forged",
    }
    return jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, packaged)


def test_the_pool_signs_with_the_data_dirs_key_and_a_token_of_motos_packaged_key_is_refused(
    tmp_path,
):
    first = Running(tmp_path)
    first.sign_up("asha")
    token = first.id_token("asha")
    assert first.verifier().claims(f"Bearer {token}") is not None
    assert first.verifier().claims(f"Bearer {_token_with_moto_packaged_key(first)}") is None
    key_file = tmp_path / "cognito-signing-key.pem"
    key = key_file.read_bytes()
    first.stop()

    # After a restart, the same key: a token issued before still verifies.
    again = Running(tmp_path)
    try:
        assert key_file.read_bytes() == key
        assert again.verifier().claims(f"Bearer {token}") is not None
        assert again.verifier().claims(f"Bearer {_token_with_moto_packaged_key(again)}") is None
    finally:
        again.stop()


def test_another_data_dir_has_another_key(tmp_path):
    one = Running(tmp_path / "one")
    one.sign_up("asha")
    token = one.id_token("asha")
    issuer, audience = (
        one.aws.issuer(one.resources["UserPoolId"]),
        one.resources["UserPoolClientId"],
    )
    one.stop()
    other = Running(tmp_path / "other")
    try:
        jwks = other.aws.jwks_url(other.resources["UserPoolId"])
        assert IdTokenVerifier(jwks, issuer, audience).claims(f"Bearer {token}") is None
    finally:
        other.stop()


def test_stopping_while_a_snapshot_is_in_progress_ends_within_its_bound(tmp_path, monkeypatch):
    running = Running(tmp_path)
    running.put("u1", "before")
    aws = running.aws
    in_snapshot, release = threading.Event(), threading.Event()
    pickle_state = aws._pickle

    def slow_pickle(frozen) -> bytes:  # a snapshot of a large state, as the background one takes
        in_snapshot.set()
        release.wait(60)
        return pickle_state(frozen)

    monkeypatch.setattr(aws, "_pickle", slow_pickle)
    compactor = threading.Thread(target=aws.compact, daemon=True)
    compactor.start()
    assert in_snapshot.wait(30)
    said: list[str] = []
    stopper = threading.Thread(target=lambda: said.append(aws.stop(wait_seconds=1)), daemon=True)
    started = time.monotonic()
    stopper.start()
    stopper.join(timeout=30)
    try:
        assert not stopper.is_alive(), "stop() waited for the snapshot in progress"
        assert time.monotonic() - started < 15
        assert said, "stop() did not return"
        assert "no final snapshot" in said[0]
    finally:
        release.set()
        compactor.join(timeout=30)
        _forget_everything()
    # Nothing acknowledged is lost by the skipped final snapshot: the journal has it.
    again = Running(tmp_path)
    try:
        assert again.sort_keys() == {"before"}
    finally:
        again.stop()


def test_stopping_while_a_request_holds_the_state_ends_within_its_bound(tmp_path):
    running = Running(tmp_path)
    running.put("u1", "before")
    running.aws.requests.acquire()  # a request cut off mid-way by the stop
    try:
        said: list[str] = []
        stopper = threading.Thread(
            target=lambda: said.append(running.aws.stop(wait_seconds=1)), daemon=True
        )
        stopper.start()
        stopper.join(timeout=30)
        assert not stopper.is_alive(), "stop() waited for a request in hand"
        assert said, "stop() did not return"
        assert "no final snapshot" in said[0]
    finally:
        running.aws.requests.release()
        _forget_everything()


# A child process whose files may not grow past a limit: the kernel answers the write that
# crosses it with a short count and only the next one with an error, as a disk that fills does.
_APPEND_PAST_A_FILE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from local_platform.journal import Journal, Record

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
journal = Journal(Path(sys.argv[1]))
journal.open_segment(1)
journal.append(Record(1, 7, "POST", "/", "", {}, b'{"first": "acknowledged"}'))
size = journal.segment.stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, resource.RLIM_INFINITY))
try:
    journal.append(Record(2, 7, "POST", "/", "", {}, b'{"second": "' + b"x" * 400 + b'"}'))
except OSError as error:
    print("refused:", error.errno)
else:
    print("acknowledged")
"""


def test_a_record_the_disk_takes_only_part_of_is_never_acknowledged(tmp_path):
    """A disk that filled mid-record once lost a write answered 201: the record was cut short,
    synced and acknowledged, and the restart dropped it as a torn tail."""
    child = subprocess.run(
        [sys.executable, "-c", _APPEND_PAST_A_FILE_LIMIT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith("refused:"), child.stdout
    journal = Journal(tmp_path)
    assert [record.sequence for record in journal.records(after=0)] == [1]
    assert any("cut short" in note for note in journal.notes), journal.notes


def test_a_write_that_cannot_be_journaled_is_503_and_the_state_takes_no_more_writes(
    tmp_path, capsys
):
    running = Running(tmp_path)
    running.put("u1", "durable")
    assert running.aws.journal is not None
    running.aws.journal.close()
    with Path("/dev/full").open("ab", buffering=0) as full:  # a disk with no room left
        running.aws.journal._file = full
        dynamodb = boto3.client(
            "dynamodb",
            region_name=running.aws.region,
            endpoint_url=running.aws.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        table = running.resources["TableName"]

        def put(key: str) -> None:
            dynamodb.put_item(
                TableName=table, Item={"user_id": {"S": "u1"}, "sort_key": {"S": key}}
            )

        with pytest.raises(ClientError) as refused:
            put("not durable")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert "not durable" in refused.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as later:
            put("later")
        assert later.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert running.sort_keys() >= {"durable"}  # reads still work
        console = capsys.readouterr().err
        assert console.count("NOT DURABLE") == 1
        assert "NOT DURABLE" in (tmp_path / "functions.log").read_text()
        assert running.aws.compact() is False  # the write moto applied never reaches a snapshot
        assert "no final snapshot" in running.aws.stop(wait_seconds=1)
    _forget_everything()
    again = Running(tmp_path)
    try:
        assert again.sort_keys() == {"durable"}
    finally:
        again.stop()


@pytest.mark.parametrize("content", [b"{garbage", b"[1, 2]", b'{"TableName": 5}', b"\xff\xfe"])
def test_a_damaged_resources_file_names_the_file_and_the_recovery(tmp_path, content):
    Running(tmp_path).stop()
    (tmp_path / "resources.json").write_bytes(content)
    aws = LocalAws(tmp_path)
    aws.start()
    try:
        with pytest.raises(StateDamaged) as damaged:
            aws.ensure_resources(STACK)
        message = str(damaged.value)
        assert str(tmp_path / "resources.json") in message
        assert "found again by their names" in message
    finally:
        aws.stop()
