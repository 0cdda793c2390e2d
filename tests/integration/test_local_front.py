"""The local front over real sockets: what the stdlib would answer by itself (an unknown method,
oversize headers, a malformed request) comes in the API's error shape, never an HTML page; bodies
are bounded; a failure outside the handler is INTERNAL_ERROR with a request id, its traceback in
the functions' log; a burst of connections is answered, not reset."""

import contextlib
import io
import json
import socket
import struct
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


def test_a_malformed_request_line_is_answered_in_the_apis_shape(front):
    url, _, _ = front
    # A request line with no readable version gets no status line (HTTP/0.9): the body alone.
    reply = _reply(url, b"GET / HTTP/9\r\n\r\n")
    assert b"<html" not in reply.lower()
    assert json.loads(reply[reply.index(b"{") :])["error"]["code"] == "BAD_REQUEST"


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
