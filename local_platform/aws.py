"""The AWS APIs the platform uses (DynamoDB, Cognito), served on loopback by a moto server.

moto keeps its state in memory. Every request that changes it is journaled and fsync'd before its
answer leaves, and the state is snapshotted in the background (see `local_platform.journal`), so
an acknowledged write survives a kill -9 and a restart with the same --data-dir. The user pools
sign with a key of this data dir, never with the one published inside the moto package.
"""

from __future__ import annotations

import copyreg
import io
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

import boto3

from local_platform import moto_answers, moto_patches, wiring
from local_platform.journal import (
    PRIVATE,
    RECORDED_HEADERS,
    Journal,
    Record,
    Snapshots,
    StateDamaged,
    changes_state,
)

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from joserfc.jwk import RSAKey

REGION = "ap-south-1"
RESOURCES_FILE = "resources.json"
SIGNING_KEY_FILE = "cognito-signing-key.pem"
# moto writes this kid into every token's header; the key behind it is this data dir's.
SIGNING_KEY_ID = "dummy"
SERVICES: tuple[Literal["dynamodb", "cognito-idp"], ...] = ("dynamodb", "cognito-idp")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
# How long the stop path waits for any one thing (a snapshot in progress, a request in hand, a
# server's loop) before it goes on without it: every acknowledged write is journaled already.
STOP_WAIT_SECONDS = 10.0
NOT_DURABLE_BODY = (
    b'{"__type":"ServiceUnavailable","message":"not durable: the local platform could not journal '
    b'a write and takes no more until it is restarted"}'
)
log = logging.getLogger(__name__)


def within(seconds: float, step: Callable[[], object]) -> bool:
    """Run `step` on a thread of its own and wait at most `seconds` for it: whether it finished.
    What the stop path does with anything it cannot bound itself (a server's shutdown, which waits
    for its loop without a timeout)."""
    done = threading.Event()

    def run() -> None:
        try:
            step()
        except Exception:  # the stop goes on; what failed is in the log
            log.exception("stopping: %s failed", getattr(step, "__qualname__", step))
        finally:
            done.set()

    threading.Thread(target=run, name="stopping", daemon=True).start()
    return done.wait(seconds)


def _load_private_key(pem: bytes) -> RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    key = serialization.load_pem_private_key(pem, None)
    if not isinstance(key, RSAPrivateKey):
        raise TypeError(f"the saved state holds a {type(key).__name__}, not an RSA key")
    return key


def _private_pem(key: RSAPrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _register_key_pickling() -> None:
    """moto's user pools hold a `cryptography` RSA key, which does not pickle; it does as PEM."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    # Only its type is used, to register the pickling of every key of that type.
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - signs nothing

    def reduce(
        private_key: RSAPrivateKey,
    ) -> tuple[Callable[[bytes], RSAPrivateKey], tuple[bytes]]:
        return _load_private_key, (_private_pem(private_key),)

    copyreg.pickle(type(key), reduce)


def signing_key(data_dir: Path) -> RSAKey:
    """This data dir's token signing key: made on first start (0600), kept so that tokens issued
    before a restart still verify after it."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from joserfc.jwk import RSAKey

    file = data_dir / SIGNING_KEY_FILE
    if not file.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        temporary = file.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
        with os.fdopen(descriptor, "wb") as out:
            out.write(_private_pem(key))
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(file)
    file.chmod(PRIVATE)
    try:
        private = _load_private_key(file.read_bytes())
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise StateDamaged(
            f"the token signing key {file} cannot be read ({error}); move it away to make a new "
            f"one (every token issued before is then refused: sign in again)"
        ) from None
    return RSAKey.import_key(
        private, parameters={"kid": SIGNING_KEY_ID, "alg": "RS256", "use": "sig"}
    )


class _SigningKeyResource:
    """moto's `load_resource` in its Cognito models, answering the private JWK it loads for every
    new user pool with this data dir's key."""

    def __init__(self, packaged: Callable[[str], Any], key: RSAKey):
        self.packaged, self.key = packaged, key

    def __call__(self, resource: str) -> Any:
        if resource == "cognitoidp/resources/jwks-private.json":
            return self.key.as_dict(private=True)
        return self.packaged(resource)


def use_signing_key(key: RSAKey) -> None:
    """Make moto's user pools sign with `key` and publish it in their JWKS, in place of the key
    that ships inside the moto package (anyone could sign with that one)."""
    from moto.cognitoidp import models, responses

    if isinstance(models.load_resource, _SigningKeyResource):
        models.load_resource.key = key
    else:
        models.load_resource = _SigningKeyResource(models.load_resource, key)
    public = {"keys": [key.as_dict(private=False)]}
    responses.CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps(public).encode()


def _backends() -> dict[str, Any]:
    from moto.backends import get_backend

    return {service: get_backend(service) for service in SERVICES}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Journaled:
    """moto's WSGI app, one request at a time (moto's backends are not thread-safe: a transaction
    deep-copies a table another request may be writing), each request drawing its ids from a seed
    of its own, and each one that changed state journaled before its answer is returned."""

    def __init__(self, app: WSGIApplication, aws: LocalAws):
        self.app, self.aws = app, aws

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        from moto.moto_api._internal import mock_random

        body = _read_body(environ)
        statuses: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        target = environ.get("HTTP_X_AMZ_TARGET", "")
        with self.aws.requests:
            if self.aws.not_durable and changes_state(target):
                start_response(
                    "503 Service Unavailable", [("Content-Type", "application/x-amz-json-1.0")]
                )
                return [NOT_DURABLE_BODY]
            if self.aws.stopping:  # the final snapshot is taken: nothing more may change
                start_response(
                    "503 Service Unavailable", [("Content-Type", "application/x-amz-json-1.0")]
                )
                return [
                    b'{"__type":"ServiceUnavailable","message":"the local platform is stopping"}'
                ]
            seed = secrets.randbits(63)
            mock_random.seed(seed)
            answer = list(self.app(environ, capture))
            journal = self.aws.journal
            if journal and statuses and statuses[-1].startswith("2") and changes_state(target):
                record = Record(
                    sequence=self.aws.sequence + 1,
                    seed=seed,
                    method=environ["REQUEST_METHOD"],
                    path=environ.get("PATH_INFO", "/"),
                    query=environ.get("QUERY_STRING", ""),
                    headers=_recorded_headers(environ),
                    body=body,
                )
                try:
                    journal.append(record)
                except Exception as error:  # a disk full, an I/O error: the write is not durable
                    self.aws.fail_stop(f"{target} could not be journaled ({error})")
                    # moto applied it in memory; no snapshot is taken from now on, so it never
                    # outlives this process, and the client is told it did not happen durably.
                    statuses.clear()
                    start_response(
                        "503 Service Unavailable",
                        [("Content-Type", "application/x-amz-json-1.0")],
                        sys.exc_info(),
                    )
                    return [NOT_DURABLE_BODY]
                self.aws.sequence = record.sequence
            return answer


def _read_body(environ: WSGIEnvironment) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        body: bytes = stream.read()
    else:
        body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    return body


def _recorded_headers(environ: WSGIEnvironment) -> dict[str, str]:
    recorded = {}
    for name in RECORDED_HEADERS:
        key = name.upper().replace("-", "_")
        value = environ.get("CONTENT_TYPE" if key == "CONTENT_TYPE" else f"HTTP_{key}")
        if value:
            # The signature itself is of no use again (moto checks none): only its credential scope.
            recorded[name] = value.split(",")[0] if name == "Authorization" else value
    return recorded


def _dispatcher() -> WSGIApplication:
    """moto's WSGI app, remembering which backend serves a host: moto lists its package directory
    (some 17,000 stat calls) to answer that on every request."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class Dispatcher(DomainDispatcherApplication):
        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self._backend_for_host: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self._backend_for_host:
                self._backend_for_host[host] = super().get_backend_for_host(host)
            return self._backend_for_host[host]

    return Dispatcher()


class _MotoHandler(BaseHTTPRequestHandler):
    """Serves moto's WSGI app over HTTP/1.1 with keep-alive. werkzeug's server closes every
    connection (and drains the socket after each answer, so it cannot keep one open): a new TCP
    connection and a new server thread for every boto3 call."""

    protocol_version = "HTTP/1.1"
    timeout = 300  # an idle client's connection frees its thread
    # Headers and body leave in two writes: with Nagle on, the body waits for the client's
    # delayed ACK of the headers (40 ms a request on a kept-alive connection).
    disable_nagle_algorithm = True
    app: WSGIApplication

    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding"):  # boto3 sends DynamoDB and Cognito bodies whole
            self._answer("411 Length Required", [], b"")
            self.close_connection = True
            return
        declared = self.headers.get("Content-Length", "0").strip() or "0"
        body = self.rfile.read(int(declared)) if declared.isdigit() else b""
        url = urlsplit(self.path)
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(url.path, encoding="latin-1"),
            "QUERY_STRING": url.query,
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.connection.getsockname()[1]),
            "SERVER_PROTOCOL": self.request_version,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        environ["CONTENT_LENGTH"] = str(len(body))
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return lambda data: None

        try:
            payload = b"".join(self.app(environ, start_response))
        except Exception:  # moto answers its own errors; this is one of ours, or a bug of moto's
            log.exception("moto failed on %s %s", self.command, self.path)
            started[:] = ["500 Internal Server Error", [("Content-Type", "application/json")]]
            payload = b'{"__type":"InternalFailure","message":"the local AWS failed"}'
        self._answer(started[0], started[1], payload)

    def _answer(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve  # noqa: N815 - the stdlib looks these up

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return


class _MotoServer:
    def __init__(self, app: WSGIApplication, port: int):
        class Handler(_MotoHandler):
            pass

        Handler.app = app

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                if isinstance(sys.exc_info()[1], ConnectionError):
                    return  # a client that hung up (a job cut off at the stop) is not an error
                super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait_seconds: float = STOP_WAIT_SECONDS) -> None:
        if self._thread.is_alive():  # shutdown() waits for the loop without a timeout
            within(wait_seconds, self._server.shutdown)
        # Closed, not only shut down: a call still being made is refused at once instead of
        # waiting in the backlog for botocore's read timeout.
        self._server.server_close()
        self._thread.join(timeout=wait_seconds)


class AwsEndpoint:
    """The local AWS as its clients see it: an endpoint and a region, and the platform's resources
    on it. Served in this process (`LocalAws`) or in one of its own (`local_platform.aws_process`)."""

    def __init__(self, data_dir: Path, region: str = REGION):
        self.data_dir = data_dir
        self.region = region
        self.endpoint_url = ""

    def client(self, service: str) -> Any:
        # boto3-stubs types only the services whose stubs are installed (not cognito-idp).
        return boto3.session.Session(  # type: ignore[call-overload]  # any service name, as above
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any key
            region_name=self.region,
        ).client(service, endpoint_url=self.endpoint_url)

    def ensure_resources(self, stack_name: str) -> dict[str, str]:
        """The table, user pool and app client: created on first start, found again after that,
        by the ids in resources.json or, if that file is gone, by their names."""
        recorded_file = self.data_dir / RESOURCES_FILE
        recorded = _recorded_resources(recorded_file)
        table_name = recorded.get("TableName") or f"{stack_name}-{wiring.load().table['name']}"
        dynamodb = self.client("dynamodb")
        if table_name not in _all_tables(dynamodb):
            wiring.create_table(dynamodb, table_name)
        cognito = self.client("cognito-idp")
        pools = _all_pools(cognito)
        pool_id = recorded.get("UserPoolId")
        if pool_id not in pools.values():
            pool_id = pools.get(f"{stack_name}-users")
        if pool_id is None:
            pool_id = cognito.create_user_pool(
                PoolName=f"{stack_name}-users",
                Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireNumbers": True}},
                AutoVerifiedAttributes=["email"],
            )["UserPool"]["Id"]
        clients = _all_clients(cognito, pool_id)
        client_id = recorded.get("UserPoolClientId")
        if client_id not in clients.values():
            client_id = clients.get(f"{stack_name}-web")
        if client_id is None:
            client_id = cognito.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName=f"{stack_name}-web",
                ExplicitAuthFlows=[
                    "ALLOW_USER_PASSWORD_AUTH",
                    "ALLOW_REFRESH_TOKEN_AUTH",
                    "ALLOW_USER_SRP_AUTH",
                ],
                GenerateSecret=False,
            )["UserPoolClient"]["ClientId"]
        resources = {"TableName": table_name, "UserPoolId": pool_id, "UserPoolClientId": client_id}
        temporary = recorded_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(resources, indent=2))
        temporary.replace(recorded_file)
        return resources

    def jwks_url(self, pool_id: str) -> str:
        return f"{self.endpoint_url}/{pool_id}/.well-known/jwks.json"

    def issuer(self, pool_id: str) -> str:
        """What moto writes into `iss`: the AWS issuer, as a real pool's tokens carry."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}"


class LocalAws(AwsEndpoint):
    def __init__(
        self,
        data_dir: Path,
        region: str = REGION,
        journaled: bool = True,
        compact_every: int = 1000,
        compact_after_seconds: float = 60.0,
    ):
        super().__init__(data_dir, region)
        self._server: _MotoServer | None = None
        self._compacting = threading.Lock()
        self._stop = threading.Event()
        self._compactor: threading.Thread | None = None
        self.compact_every, self.compact_after_seconds = compact_every, compact_after_seconds
        # Every request to moto holds it (see _Journaled), and a snapshot taken under it is whole.
        self.requests = threading.Lock()
        self.snapshots = Snapshots(data_dir)
        self.journal = Journal(data_dir) if journaled else None
        self.sequence = 0  # the last journal record written
        self.snapshot_sequence = 0  # the last journal record the newest snapshot holds
        self.replayed = 0
        self.stopping = False
        # Why the state stopped being durable (a journal append failed), or None: from then on
        # every write is refused and no snapshot is taken, until a restart.
        self.not_durable: str | None = None
        self.replay_seconds = 0.0
        # How long the last snapshot held `requests` (the pickling itself happens after it).
        self.snapshot_hold_seconds = 0.0
        self.notes: list[str] = []

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> str:
        """Load the state (snapshot, then journal) and serve it. Raises StateDamaged."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_patches.apply()  # before the replay too: it writes through the same moto
        moto_answers.apply()
        _register_key_pickling()
        key = signing_key(self.data_dir)
        use_signing_key(key)
        moto_app = _dispatcher()
        self._restore(moto_app, key)
        if self.journal is not None:
            self.journal.open_segment(self.sequence + 1)
        port = free_port()
        self._server = _MotoServer(_Journaled(moto_app, self), port)
        self._server.start()
        self.endpoint_url = f"http://127.0.0.1:{port}"
        return self.endpoint_url

    def _restore(self, moto_app: WSGIApplication, key: RSAKey) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID

        snapshot = self.snapshots.load()
        if snapshot is not None:
            try:
                saved = moto_patches.load_state(snapshot.pickled)
                backends = _backends()
                for service, backend in saved.items():
                    backends[service][DEFAULT_ACCOUNT_ID][self.region] = backend
            except Exception as error:  # anything unpickling raises means the file is unusable
                raise StateDamaged(
                    self.snapshots.damaged_message(
                        snapshot.file, f"it does not load: {type(error).__name__}: {error}"
                    )
                ) from None
            self.sequence = self.snapshot_sequence = snapshot.sequence
        if self.journal is not None:
            started = time.perf_counter()
            for record in self.journal.records(after=self.sequence):
                self._replay(moto_app, record)
            self.replay_seconds = time.perf_counter() - started
            self.notes.extend(self.journal.notes)
            if self.replayed:
                self.notes.append(
                    f"replayed {self.replayed} journaled write(s) in {self.replay_seconds:.2f} s"
                )
        # Pools saved before the key was this data dir's carry the packaged one.
        for pool in _backends()["cognito-idp"][DEFAULT_ACCOUNT_ID][self.region].user_pools.values():
            pool.json_web_key = key

    def _replay(self, moto_app: WSGIApplication, record: Record) -> None:
        from moto.moto_api._internal import mock_random
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        environ = EnvironBuilder(
            method=record.method,
            path=record.path,
            query_string=record.query,
            headers=list(record.headers.items()),
            data=record.body,
        ).get_environ()
        mock_random.seed(record.seed)
        _answer, status, _headers = run_wsgi_app(moto_app, environ, buffered=True)
        if not status.startswith("2"):
            self.notes.append(
                f"journal record {record.sequence} ({record.headers.get('X-Amz-Target')}) "
                f"answered {status} on replay, where it had succeeded"
            )
        self.sequence = record.sequence
        self.replayed += 1

    def fail_stop(self, reason: str) -> None:
        """Take no more writes and no more snapshots (the state in memory holds one that is in no
        journal): one line on the console and in the functions' log."""
        if self.not_durable is not None:
            return
        self.not_durable = reason
        line = (
            f"AWS state: NOT DURABLE: {reason}; every write is refused (503) until the platform is "
            f"restarted (reads still work); the restart recovers every write acknowledged before"
        )
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
        try:
            with (self.data_dir / "functions.log").open("a") as functions_log:
                functions_log.write(line + "\n")
        except OSError:  # the disk that refused the journal may refuse this too
            log.error(line)

    def start_compaction(self, check_every_seconds: float = 5.0) -> None:
        def loop():
            last = time.monotonic()
            while not self._stop.wait(check_every_seconds):
                pending = self.sequence - self.snapshot_sequence
                due = time.monotonic() - last >= self.compact_after_seconds
                if pending >= self.compact_every or (pending and due) or self.journal is None:
                    try:
                        self.compact()
                    except OSError as error:  # the journal still holds every write
                        log.warning("snapshot of the AWS state failed: %s", error)
                    last = time.monotonic()

        self._compactor = threading.Thread(target=loop, name="aws-state-compactor", daemon=True)
        self._compactor.start()

    def compact(self, wait_seconds: float | None = None) -> bool:
        """Snapshot the state and start a new journal segment; the previous snapshot and the
        segments after it stay, so one damaged snapshot still recovers. Given `wait_seconds`, waits
        at most that long for a snapshot in progress or a request in hand: whether it snapshotted
        (or had nothing to)."""
        timeout = -1 if wait_seconds is None else wait_seconds
        if self.not_durable is not None:
            return False  # the state in memory holds a write that is in no journal
        if not self._compacting.acquire(timeout=timeout):
            return False
        try:
            if not self.requests.acquire(timeout=timeout):
                return False
            try:
                if self.journal is not None and self.sequence == self.snapshot_sequence:
                    return True
                if self.not_durable is not None:
                    return False
                held = time.perf_counter()
                frozen = self._freeze()
                sequence = self.sequence
                if self.journal is not None:
                    self.journal.open_segment(sequence + 1)
                self.snapshot_hold_seconds = time.perf_counter() - held
            finally:
                self.requests.release()
            # Pickled with the requests going on: what was frozen is never changed (moto_patches).
            self.snapshots.write(sequence, self._pickle(frozen))
            self.snapshot_sequence = sequence
            previous = self.snapshots.previous_sequence()
            if self.journal is not None and previous is not None:
                self.journal.prune(kept_from=previous + 1)
            return True
        finally:
            self._compacting.release()

    def _freeze(self) -> moto_patches.FrozenState:
        """Under `requests`: the state as it is now, in a form that later requests do not change."""
        from moto.core import DEFAULT_ACCOUNT_ID

        state = {
            service: backend[DEFAULT_ACCOUNT_ID][self.region]
            for service, backend in _backends().items()
        }
        return moto_patches.freeze(state)

    def _pickle(self, frozen: moto_patches.FrozenState) -> bytes:
        return frozen.pickled()

    def stop(self, wait_seconds: float = STOP_WAIT_SECONDS) -> str:
        """Stop serving and take a final snapshot, waiting at most `wait_seconds` for each thing in
        hand (a snapshot in progress, a request): what it saved, in words for the console."""
        self._stop.set()
        if self._server:
            self._server.stop(wait_seconds)
        if self._compactor:
            self._compactor.join(timeout=wait_seconds)
        saved = "state saved"
        if self.not_durable is not None:
            saved = "no final snapshot: the state stopped being durable; the journal holds every acknowledged write"
        elif self.endpoint_url:
            try:
                if not self.compact(wait_seconds):
                    saved = (
                        f"no final snapshot (a snapshot or a request still in hand after "
                        f"{wait_seconds:g} s); the journal holds every acknowledged write"
                    )
            except OSError as error:
                saved = f"no final snapshot ({error}); the journal holds every acknowledged write"
        # A request still in hand may yet append: then the journal stays open until the process
        # ends (each record is fsync'd as it is written).
        self.stopping = True
        if self.requests.acquire(timeout=wait_seconds):
            try:
                if self.journal is not None:
                    self.journal.close()
            finally:
                self.requests.release()
        return saved


def _recorded_resources(file: Path) -> dict[str, str]:
    """The ids resources.json holds, {} if it is not there; a damaged one is StateDamaged."""
    if not file.exists():
        return {}
    names = ("TableName", "UserPoolId", "UserPoolClientId")
    try:
        recorded = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:  # UnicodeDecodeError and JSONDecodeError included
        problem = f"it does not read as JSON: {error}"
    else:
        if isinstance(recorded, dict) and all(isinstance(recorded.get(n), str) for n in names):
            return {name: str(recorded[name]) for name in names}
        problem = "it is not an object of TableName, UserPoolId and UserPoolClientId strings"
    raise StateDamaged(
        f"the resources file {file} is damaged ({problem}); delete it (`rm {file}`) and start "
        f"again: the table, user pool and app client are found again by their names"
    )


def _all_tables(dynamodb: Any) -> set[str]:
    names: set[str] = set()
    for page in dynamodb.get_paginator("list_tables").paginate():
        names |= set(page["TableNames"])
    return names


def _all_pools(cognito: Any) -> dict[str, str]:
    """Pool name -> id (the oldest pool of a name wins: it is the one that holds the users)."""
    pools: dict[str, str] = {}
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            pools.setdefault(pool["Name"], pool["Id"])
    return pools


def _all_clients(cognito: Any, pool_id: str) -> dict[str, str]:
    clients: dict[str, str] = {}
    pages = cognito.get_paginator("list_user_pool_clients").paginate(
        UserPoolId=pool_id, MaxResults=60
    )
    for page in pages:
        for client in page["UserPoolClients"]:
            clients.setdefault(client["ClientName"], client["ClientId"])
    return clients
