"""The local front over real sockets: what the stdlib would answer by itself (an unknown method,
oversize headers, a malformed request) comes in the API's error shape, never an HTML page; bodies
are bounded; a failure outside the handler is INTERNAL_ERROR with a request id, its traceback in
the functions' log; a burst of connections is answered, not reset; every error answer has its
status line and headers; a request head has a deadline and connections a bound."""

import contextlib
import io
import json
import select
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local_platform import api_gateway
from local_platform.api_gateway import MAX_BODY_BYTES, LocalApiGateway, serve
from local_platform.aws import free_port
from local_platform.wiring import load
from tests.integration.conftest import StubVerifier


class Broken:
    """A verifier that fails as a bug would, outside any handler's own error handling."""

    def claims(self, authorization):
        raise RuntimeError("secret-internal-detail")


@pytest.fixture
def front():
    log = io.StringIO()

    @contextlib.contextmanager
    def output():
        with contextlib.redirect_stdout(log):
            yield

    port = free_port()
    gateway = LocalApiGateway(load(), StubVerifier(), None, {"/local/ping": lambda: {"ok": True}})
    gateway.output = output
    server = serve(gateway, port)
    yield f"http://127.0.0.1:{port}", gateway, log
    server.shutdown()
    server.server_close()


def _reply(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    return data


def _raw(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = _reply(url, request).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def _api_error(response: requests.Response) -> dict:
    assert response.headers["Content-Type"] == "application/json"
    return response.json()["error"]


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PATCH", "PROPFIND", "BREW"])
def test_a_method_the_api_does_not_have_is_a_405_with_allow(front, method):
    url, _, _ = front
    answer = requests.request(method, url + "/options/strategies", timeout=30)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, POST, OPTIONS"
    assert _api_error(answer)["code"] == "METHOD_NOT_ALLOWED"


def test_a_method_on_a_path_the_api_does_not_have_lists_every_method(front):
    url, _, _ = front
    answer = requests.request("TRACE", url + "/nowhere", timeout=30)
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "POST", "PUT", "DELETE", "OPTIONS"}


def test_a_100_kb_authorization_header_is_a_431_in_the_apis_shape(front):
    url, _, _ = front
    answer = requests.get(
        url + "/options/strategies",
        headers={"Authorization": "Bearer " + "x" * 100_000},
        timeout=30,
    )
    assert answer.status_code == 431
    assert _api_error(answer)["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


def test_an_oversize_request_line_is_a_431_in_the_apis_shape(front):
    url, _, _ = front
    status, headers, body = _raw(url, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 431
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET / HTTP/9\r\n\r\n", 400),
        (b"GET /options/baskets HTTP/2.0\r\n\r\n", 505),
        (b"\x00\x01\x02 garbage\r\n\r\n", 400),
        (b"GET /options/baskets\r\n\r\n", 505),  # HTTP/0.9, whose answers have no head
        (b"GET /options/baskets\r\nX-a: b\r\n", 505),  # refused before its headers end
        (b"GET /a b HTTP/1.1\r\n\r\n", 400),
    ],
)
def test_a_malformed_request_line_is_answered_with_a_status_line_in_the_apis_shape(
    front, request_head, status
):
    url, _, _ = front
    # The stdlib answers a request line whose version it has not read as HTTP/0.9: the body alone.
    reply = _reply(url, request_head)
    assert reply.startswith(f"HTTP/1.1 {status} ".encode()), reply[:80]
    assert b"<html" not in reply.lower()
    _status, headers, body = _raw(url, request_head)
    assert headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close"
    assert int(headers["Content-Length"]) == len(body)
    assert set(json.loads(body)["error"]) == {"code", "message", "details"}


def test_a_body_over_the_limit_is_a_413_and_a_bad_content_length_a_400(front):
    url, _, _ = front
    too_big = requests.post(
        url + "/options/baskets",
        data=b"{" + b" " * MAX_BODY_BYTES + b"}",
        headers={"Authorization": "Bearer alice", "Content-Type": "application/json"},
        timeout=60,
    )
    assert too_big.status_code == 413
    assert _api_error(too_big)["code"] == "PAYLOAD_TOO_LARGE"
    for declared in (b"abc", b"-5", b"12, 13"):
        status, _headers, body = _raw(
            url,
            b"POST /options/baskets HTTP/1.1\r\nHost: x\r\nContent-Length: "
            + declared
            + b"\r\n\r\n{}",
        )
        assert status == 400, declared
        assert json.loads(body)["error"]["code"] == "BAD_REQUEST"


def test_a_failure_outside_the_handler_is_internal_error_with_a_request_id(front):
    url, gateway, log = front
    gateway.verifier = Broken()
    answer = requests.get(url + "/options/strategies", headers={"Authorization": "x"}, timeout=30)
    assert answer.status_code == 500
    error = _api_error(answer)
    assert error["code"] == "INTERNAL_ERROR"
    assert "secret-internal-detail" not in answer.text
    assert "RuntimeError" not in answer.text
    request_id = answer.headers["X-Request-Id"]
    assert request_id in error["message"]
    assert request_id in log.getvalue()
    assert "secret-internal-detail" in log.getvalue()  # the operator still sees what broke


def test_a_burst_of_100_connections_at_once_is_answered_every_one(front):
    url, _, _ = front
    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(
            pool.map(
                lambda _n: requests.get(url + "/local/ping", timeout=120).status_code, range(100)
            )
        )
    assert statuses == [200] * 100


def test_a_body_that_is_not_utf8_is_a_400_naming_the_body(front):
    url, _, _ = front
    answer = requests.post(
        url + "/options/baskets",
        data=b'{"basket_name": "caf\xe9 \xff"}',
        headers={"Authorization": "Bearer alice", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400
    error = _api_error(answer)
    assert error["code"] == "BAD_REQUEST"
    assert "body is not UTF-8" in error["message"]


def test_once_a_write_could_not_be_made_durable_writes_are_503_and_reads_still_work(front):
    url, gateway, _ = front
    gateway.not_durable = lambda: "the journal could not be written (No space left on device)"
    headers = {"Authorization": "Bearer alice", "Content-Type": "application/json"}
    for method in ("POST", "PUT", "DELETE"):
        answer = requests.request(
            method, url + "/options/baskets/b1", data=b"{}", headers=headers, timeout=30
        )
        if answer.status_code == 405:  # not a method of that path: try the collection
            answer = requests.request(
                method, url + "/options/baskets", data=b"{}", headers=headers, timeout=30
            )
        assert answer.status_code == 503, (method, answer.text)
        assert _api_error(answer)["code"] == "NOT_DURABLE"
    read = requests.get(url + "/options/baskets", headers=headers, timeout=30)
    assert read.status_code != 503


def test_a_client_that_hangs_up_mid_request_leaves_no_traceback(front, capfd):
    url, _, _ = front
    host, port = url.removeprefix("http://").split(":")
    head = (
        b"POST /options/baskets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
    )
    for attempt in range(30):
        connection = socket.create_connection((host, int(port)), timeout=30)
        # Closing with unread data and no linger resets the connection, as a client that gives
        # up on a 2 MB upload does: the front then writes its 413 to a socket that is gone.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.sendall(head if attempt % 2 else head[:20])
        connection.close()
    time.sleep(1)  # let the front's threads get to their writes
    assert requests.get(url + "/local/ping", timeout=30).status_code == 200
    console = capfd.readouterr()
    assert "Traceback" not in console.err + console.out
    assert "BrokenPipeError" not in console.err + console.out
    assert "ConnectionResetError" not in console.err + console.out


def test_a_body_shorter_than_its_content_length_is_a_408_after_the_read_timeout(monkeypatch):
    assert api_gateway.SOCKET_TIMEOUT_SECONDS <= 30  # API-Gateway-like, not a minute
    monkeypatch.setattr(api_gateway, "SOCKET_TIMEOUT_SECONDS", 1)
    port = free_port()
    server = serve(LocalApiGateway(load(), StubVerifier()), port)
    try:
        asked = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(
                b"POST /options/baskets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\n"
                b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"basket'
            )
            data = b""
            while chunk := connection.recv(65536):
                data += chunk
        took = time.monotonic() - asked
    finally:
        server.shutdown()
        server.server_close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"408"
    error = json.loads(body)["error"]
    assert error["code"] == "REQUEST_TIMEOUT"
    assert "100 bytes" in error["message"]
    assert took < 15


@contextlib.contextmanager
def _serving(**limits):
    """A front of its own, with a shorter head deadline or fewer connections than the platform's;
    on the way out every thread it started has ended."""
    before = set(threading.enumerate())
    port = free_port()
    gateway = LocalApiGateway(load(), StubVerifier(), None, {"/local/ping": lambda: {"ok": True}})
    server = serve(gateway, port, **limits)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()  # waits for the connections' threads
    assert set(threading.enumerate()) <= before


def _until_answered(connection: socket.socket, trickle: bytes | None, within: float) -> bytes:
    """Everything the front sends until it closes, sending `trickle` every 0.1 s meanwhile."""
    data, ends = b"", time.monotonic() + within
    while time.monotonic() < ends:
        if select.select([connection], [], [], 0.1)[0]:
            chunk = connection.recv(65536)
            if not chunk:
                return data
            data += chunk
        elif trickle and not data:
            connection.sendall(trickle)
    raise AssertionError(f"the front did not close within {within} s; it sent {data!r}")


def _answer_on(connection: socket.socket) -> bytes:
    """One answer on a kept-alive connection (its head and Content-Length bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.startswith(b"Content-Length:")).split()[1]
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head


_PING = b"GET /local/ping HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    ("first", "trickle"),
    [
        (b"GET /options/baskets HTTP/1.1\r\nHost: x\r\n", b"X-a: b\r\n"),  # never idle
        (b"GET /options/baskets HTTP/1.1\r\nHost: x\r\n", None),  # stops arriving
        (b"GET /options/bas", b"k"),  # the request line itself, a byte at a time
        (_PING + b"GET /options/baskets HTTP/1.1\r\n", None),  # sent with the previous one
    ],
)
def test_a_request_head_not_in_by_its_deadline_is_a_408_and_the_connection_closed(first, trickle):
    # The read timeout (20 s) only bounds silence: a header every 0.1 s never meets it.
    assert api_gateway.SOCKET_TIMEOUT_SECONDS >= 10
    assert api_gateway.REQUEST_HEAD_SECONDS <= 30
    with (
        _serving(head_seconds=1) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as connection,
    ):
        asked = time.monotonic()
        connection.sendall(first)
        reply = _until_answered(connection, trickle, within=15)
        took = time.monotonic() - asked
    if first.startswith(_PING):  # the first request is answered; the second's head runs out
        assert reply.startswith(b"HTTP/1.1 200 ")
        reply = reply[reply.index(b"}") + 1 :]
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert lines[0] == "HTTP/1.1 408 Request Timeout"
    assert headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close"
    assert int(headers["Content-Length"]) == len(body)
    error = json.loads(body)["error"]
    assert error["code"] == "REQUEST_TIMEOUT"
    assert "within 1 s" in error["message"]
    assert 0.9 <= took < 10


def test_a_body_trickled_a_byte_at_a_time_is_a_408_at_its_deadline():
    """A body whose every byte came within the read timeout was waited on for ever: 256 such
    connections held the whole front."""
    with (
        _serving(body_seconds=1) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as connection,
    ):
        connection.sendall(
            b"POST /options/baskets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        asked = time.monotonic()
        reply = _until_answered(connection, b" ", within=15)
        took = time.monotonic() - asked
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), reply
    error = json.loads(body)["error"]
    assert error["code"] == "REQUEST_TIMEOUT"
    assert "the body did not arrive in full within 1 s" in error["message"]
    assert 0.9 <= took < 10


def test_on_a_kept_alive_connection_the_deadline_runs_from_the_previous_answer():
    with (
        _serving(head_seconds=1) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as connection,
    ):
        connection.sendall(_PING)
        assert _answer_on(connection).startswith(b"HTTP/1.1 200 ")
        answered = time.monotonic()
        time.sleep(0.5)  # half the deadline spent idle
        connection.sendall(b"GET /options/baskets HTTP/1.1\r\n")
        reply = _until_answered(connection, b"X-a: b\r\n", within=15)
        took = time.monotonic() - answered
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["error"]["code"] == "REQUEST_TIMEOUT"
    assert 0.9 <= took < 10


def test_an_idle_kept_alive_connection_is_closed_without_a_word_at_the_deadline():
    with (
        _serving(head_seconds=1) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as connection,
    ):
        connection.sendall(_PING)
        assert _answer_on(connection).startswith(b"HTTP/1.1 200 ")
        asked = time.monotonic()
        assert _until_answered(connection, None, within=15) == b""
        assert 0.9 <= time.monotonic() - asked < 10


def test_connections_over_the_bound_are_a_503_at_once_and_start_no_thread():
    assert 128 <= api_gateway.MAX_CONNECTIONS <= 1024
    with _serving(max_connections=3) as port:
        held = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(3)]
        try:
            for connection in held:  # each is being served (a thread each), kept alive
                connection.sendall(_PING)
                assert _answer_on(connection).startswith(b"HTTP/1.1 200 ")
            threads = threading.active_count()
            for _attempt in range(20):
                with socket.create_connection(("127.0.0.1", port), timeout=30) as extra:
                    asked = time.monotonic()
                    reply = _until_answered(extra, None, within=10)
                    assert time.monotonic() - asked < 5
                head, _, body = reply.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:])
                assert lines[0] == "HTTP/1.1 503 Service Unavailable"
                assert headers["Content-Type"] == "application/json"
                assert headers["Connection"] == "close"
                assert int(headers["Content-Length"]) == len(body)
                assert json.loads(body)["error"]["code"] == "TOO_MANY_CONNECTIONS"
            assert threading.active_count() == threads
            held.pop().close()  # its slot is given back once its thread has seen it go
            ends = time.monotonic() + 10
            while threading.active_count() >= threads and time.monotonic() < ends:
                time.sleep(0.05)
            again = _reply(
                f"http://127.0.0.1:{port}",
                b"GET /local/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            assert again.startswith(b"HTTP/1.1 200 ")
        finally:
            for connection in held:
                connection.close()
