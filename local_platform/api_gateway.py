"""An HTTP front on loopback that does what API Gateway does for a REST API with a Cognito
authorizer and Lambda proxy integrations: match the route from the wiring table, verify the ID
token, build the proxy event AWS would send, and call the function's handler in this process."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local_platform.auth import IdTokenVerifier
from local_platform.wiring import Wiring

STAGE = "local"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization,Content-Type,X-Amz-Date,X-Api-Key,X-Amz-Security-Token,Idempotency-Key",
    "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
    "Access-Control-Max-Age": "600",
}


@dataclass
class LambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:ap-south-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


class LocalApiGateway:
    def __init__(
        self,
        wiring: Wiring,
        verifier: IdTokenVerifier,
        lock: threading.Lock | None = None,
        operator_views: dict[str, Callable[[], Any]] | None = None,
        output: Callable[[], Any] | None = None,
        not_durable: Callable[[], str | None] | None = None,
    ):
        self.wiring = wiring
        # Why the local AWS state takes no more writes (a journal append failed), or None.
        self.not_durable = not_durable or (lambda: None)
        # Where the functions' own output goes (a context manager), as the engine's does.
        self.output = output or contextlib.nullcontext
        self.verifier = verifier
        # Local only, on loopback: what the operator of this machine may look at (the engine's state).
        self.operator_views = operator_views or {}
        # One request at a time, gateway-wide. Powertools keeps the current event in a slot that every
        # resolver in this process shares (in Lambda, one request per instance makes that safe), so two
        # functions running at once here could read each other's caller. (Moto serialises its own
        # requests: see LocalAws.)
        self._invocation = lock or threading.Lock()

    def _route_methods(self, path: str) -> list[str]:
        return sorted({r.method for r in self.wiring.routes if r.match(r.method, path) is not None})

    def method_not_allowed(self, method: str, target: str) -> Reply:
        """405 naming what the path allows (every method the API has, for a path it does not)."""
        path = urlsplit(target).path or "/"
        allowed = self._route_methods(path) or sorted({r.method for r in self.wiring.routes})
        reply = _error(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            f"{method} is not a method of {path}; it allows {', '.join(allowed)}",
        )
        reply.headers["Allow"] = ", ".join([*allowed, "OPTIONS"])
        return reply

    def handle(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: str | None,
        source_ip: str = "127.0.0.1",
    ) -> Reply:
        url = urlsplit(target)
        path = url.path if url.path.startswith("/") else "/" + url.path
        if method == "OPTIONS":
            if any(route.match(route.method, path) is not None for route in self.wiring.routes):
                return Reply(HTTPStatus.NO_CONTENT, dict(CORS_HEADERS), "")
            return _error(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"no resource at {path}")
        if method == "GET" and path == "/swagger":
            return Reply(
                HTTPStatus.OK, {"Content-Type": "text/html; charset=utf-8"}, swagger_page()
            )
        if method == "GET" and path in self.operator_views:
            with self._invocation:
                view = self.operator_views[path]()
            return Reply(
                HTTPStatus.OK, {"Content-Type": "application/json"}, json.dumps(view, default=str)
            )
        resolved = self.wiring.resolve(method, path)
        if resolved is None:
            if self._route_methods(path):
                return self.method_not_allowed(method, path)
            return _error(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"no route {method} {path}")
        route, encoded_parameters = resolved
        # API Gateway hands the function URL-decoded path parameters (and path).
        path_parameters = {name: unquote(value) for name, value in encoded_parameters.items()}
        claims = self.verifier.claims(_header(headers, "Authorization"))
        if claims is None:
            return _error(
                HTTPStatus.UNAUTHORIZED,
                "UNAUTHORIZED",
                "sign in: send a valid Cognito ID token as 'Authorization: Bearer <token>'",
            )
        event = proxy_event(
            method,
            unquote(path),
            route.resource,
            path_parameters,
            url.query,
            headers,
            body,
            claims,
            source_ip,
        )
        if method in _CHANGING_METHODS and self.not_durable():
            return _not_durable()
        handler = self.wiring.handler(route.function)
        with self._invocation, self.output():
            result = handler(event, LambdaContext(function_name=route.function))
        if (
            method in _CHANGING_METHODS
            and int(result.get("statusCode", 200)) >= 500
            and self.not_durable()
        ):
            return _not_durable(this_request=True)  # its write could not be journaled
        reply_headers = {**CORS_HEADERS, **(result.get("headers") or {})}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            reply_headers[name] = ", ".join(values)
        return Reply(int(result.get("statusCode", 200)), reply_headers, result.get("body") or "")


@lru_cache(maxsize=1)
def swagger_page() -> str:
    """Swagger UI for the API, locally only (deployed, every route stays behind the authorizer).
    The document is embedded, and Powertools ships Swagger UI's assets, so no network is needed;
    "Authorize" takes an ID token for "Try it out"."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    from lambda_functions.api_docs import openapi_document

    assets = Path(swagger_ui.__file__).parent
    return generate_swagger_html(
        openapi_document(),
        (assets / "swagger-ui-bundle.min.js").read_text(),
        (assets / "swagger-ui.min.css").read_text(),
        swagger_base_url="",
        oauth2_config=None,
        persist_authorization=True,
    )


def proxy_event(
    method: str,
    path: str,
    resource: str,
    path_parameters: dict[str, str],
    query: str,
    headers: dict[str, str],
    body: str | None,
    claims: dict[str, Any],
    source_ip: str,
) -> dict[str, Any]:
    """The REST API (v1) proxy event, with the authorizer's claims as strings as API Gateway gives them."""
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    now = time.time()
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "requestTime": formatdate(now, usegmt=True),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": _header(headers, "User-Agent")},
            "authorizer": {"claims": {name: _claim_text(value) for name, value in claims.items()}},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def _claim_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


_CHANGING_METHODS = frozenset({"POST", "PUT", "DELETE"})


def _not_durable(this_request: bool = False) -> Reply:
    """Refused as not durable: before the function ran (nothing changed), or after one of its own
    writes could not be journaled (moto holds that one in memory until the restart drops it; the
    function's writes before it were journaled, so a manual run's claim, say, outlives it)."""
    what = (
        "this request is saved at most in part: what it wrote before the write that failed is"
        " kept, and that write shows in reads until the restart drops it"
        if this_request
        else "this request changed nothing"
    )
    return _error(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "NOT_DURABLE",
        "the local platform could not save a write durably and takes no more until it is "
        f"restarted (reads still work); {what}",
    )


def _error(status: int, code: str, message: str) -> Reply:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}})
    return Reply(status, {**CORS_HEADERS, "Content-Type": "application/json"}, body)


MAX_BODY_BYTES = (
    1024 * 1024
)  # API Gateway takes up to 10 MB; no request of this API comes near 1 MB
LISTEN_BACKLOG = 128  # a burst of connections waits to be accepted instead of being reset
# A client that stops sending mid-request frees its thread after this long, and a body that
# does not arrive in full is a 408 (API Gateway waits less; this leaves room for a loaded machine).
SOCKET_TIMEOUT_SECONDS = 20
# The request line and headers arrive in full within this long of the connection's accept, or of
# the previous answer on a kept-alive connection, or are a 408: a client trickling one header line
# at a time is cut off there, however often it sends (the read timeout above only bounds silence).
REQUEST_HEAD_SECONDS = 20
# Connections served at once, each on its own thread. Twenty traders with a browser each (at most
# six connections to one host) and a script or two need about 150; past this a new connection is
# a 503 at once, answered by the thread that accepts, so a flood of connections starts no threads.
MAX_CONNECTIONS = 256
# After a 408 the front stops writing and reads (and drops) what the client still sends, for at
# most this long, before it closes: a close with unread bytes is a reset, which can destroy the
# 408 in the client's buffers before it is read.
LINGER_SECONDS = 2
# A client that went away before its answer (e.g. one still sending a body refused with a 413).
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
# What BaseHTTPRequestHandler reports by itself, in the API's words.
_FRONT_ERRORS = {
    HTTPStatus.BAD_REQUEST: ("BAD_REQUEST", "the request is not well-formed HTTP/1.1"),
    HTTPStatus.REQUEST_URI_TOO_LONG: (
        "REQUEST_HEADER_FIELDS_TOO_LARGE",
        "the request line is longer than 65,536 bytes",
    ),
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: (
        "REQUEST_HEADER_FIELDS_TOO_LARGE",
        "a header line is longer than 65,536 bytes, or there are more than 100 headers",
    ),
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: ("BAD_REQUEST", "send HTTP/1.1 or HTTP/1.0"),
}


class _NotInTime(Exception):
    """The request line and headers, or the body, were not in by their deadline."""


class _DeadlineReader(io.RawIOBase):
    """The connection's bytes for the handler's buffered reader: each read waits at most the read
    timeout, and, while a request head is due, no later than its deadline (a timeout per read
    alone would let a client that sends a byte now and then hold the connection for ever)."""

    def __init__(self, connection: socket.socket, read_timeout: float):
        self.connection = connection
        self.read_timeout = read_timeout
        self.due_by: float | None = None  # time.monotonic() by which the head (or body) is in
        self.head_bytes = 0  # of the head now due, received so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wait, until_due = self.read_timeout, False
        if self.due_by is not None:
            left = self.due_by - time.monotonic()
            if left <= 0:
                raise _NotInTime
            if left <= wait:
                wait, until_due = left, True
        self.connection.settimeout(wait)
        try:
            received = self.connection.recv_into(buffer)
        except TimeoutError:
            if until_due:
                raise _NotInTime from None
            raise
        if self.due_by is not None:
            self.head_bytes += received
        return received


class _FrontServer(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any, max_connections: int):
        self.max_connections = max_connections
        self._connection_slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._connection_slots.acquire(blocking=False):
            self._refuse_over_capacity(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: nothing else will give the slot back
            self._connection_slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connection_slots.release()

    def _refuse_over_capacity(self, request: socket.socket) -> None:
        # On the accepting thread, so it must never wait: what the client already sent is read
        # (so that the close is an end of stream, not a reset), the answer is one non-blocking
        # send of a few hundred bytes, which an empty send buffer always takes.
        reply = _error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "TOO_MANY_CONNECTIONS",
            f"the local platform already serves {self.max_connections} connections; "
            "try again in a few seconds",
        )
        payload = reply.body.encode()
        head = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        head += [f"Content-Length: {len(payload)}", "Retry-After: 5", "Connection: close"]
        with contextlib.suppress(OSError):
            request.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                request.recv(65536)
            request.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], _CLIENT_GONE):
            return  # a client that hung up is not an error of the platform's
        super().handle_error(request, client_address)


def serve(
    gateway: LocalApiGateway,
    port: int,
    head_seconds: float = REQUEST_HEAD_SECONDS,
    max_connections: int = MAX_CONNECTIONS,
    body_seconds: float = SOCKET_TIMEOUT_SECONDS,
) -> ThreadingHTTPServer:
    """Serve the gateway on 127.0.0.1:port, on a thread of its own; head_seconds, body_seconds and
    max_connections are REQUEST_HEAD_SECONDS, SOCKET_TIMEOUT_SECONDS and MAX_CONNECTIONS unless a
    test says otherwise."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = SOCKET_TIMEOUT_SECONDS
        _reader: _DeadlineReader
        _buffered: io.BufferedReader  # rfile, by its own type (the stdlib's says less)

        def setup(self):
            super().setup()
            self.rfile.close()  # the stdlib's reader, replaced by one that keeps the deadline
            self._reader = _DeadlineReader(self.connection, self.timeout)
            self.rfile = self._buffered = io.BufferedReader(self._reader)
            self.request_version, self.requestline = self.protocol_version, ""

        def handle_one_request(self):
            # The head's time runs from the accept, or from the end of the previous answer.
            self._reader.due_by = time.monotonic() + head_seconds
            self._reader.head_bytes = 0
            self.raw_requestline = b""
            try:
                super().handle_one_request()
            except _NotInTime:
                self._head_too_slow()
            finally:
                self._reader.due_by = None

        def parse_request(self):
            words = self.raw_requestline.split()
            if len(words) == 2 and words[0] == b"GET":
                # HTTP/0.9: its answers have no status line or headers. Refused before any
                # header is read.
                self.command, self.path = "", words[1].decode("latin-1")
                self.request_version = self.protocol_version
                self.requestline = self.raw_requestline.decode("latin-1").rstrip("\r\n")
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
                return False
            parsed = super().parse_request()
            # The head is in: the body only has the read timeout (and its own 408).
            self._reader.due_by = None
            self.connection.settimeout(self.timeout)
            return parsed

        def _head_began(self) -> bool:
            """Whether any of the head came: since the deadline was set, or before it (sent
            with the previous request). The deadline has passed, so a read raises at once."""
            if self._reader.head_bytes or self.raw_requestline:
                return True
            try:
                return bool(self._buffered.peek(1))
            except _NotInTime:
                return False

        def _head_too_slow(self) -> None:
            self.close_connection = True
            began = self._head_began()
            self._reader.due_by = None
            if not began:
                return  # nothing was asked (an idle kept-alive connection): close without a word
            self.command = ""
            self.connection.settimeout(self.timeout)
            reply = _error(
                HTTPStatus.REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                f"the request line and headers did not arrive in full within {head_seconds:g} s",
            )
            reply.headers["Connection"] = "close"
            self._answer(reply)
            with contextlib.suppress(OSError):  # includes TimeoutError: then it is closed anyway
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                ends = time.monotonic() + LINGER_SECONDS
                while (left := ends - time.monotonic()) > 0:
                    self.connection.settimeout(left)
                    if not self.connection.recv(65536):
                        break

        # Headers and body leave in two writes: with Nagle on, the body of an answer on a
        # kept-alive connection waits for the client's delayed ACK (40 ms).
        disable_nagle_algorithm = True

        def _dispatch(self):
            body, refusal = self._body()
            if refusal is not None:
                self._answer(refusal)
                return
            try:
                reply = gateway.handle(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    body,
                    self.client_address[0],
                )
            except Exception:  # the front answers even when a handler blows up outside its resolver
                request_id = str(uuid.uuid4())
                with gateway.output():
                    # sys.stdout is the functions' log here (gateway.output), as in Lambda.
                    sys.stdout.write(
                        f"{self.command} {self.path} failed (request {request_id}):\n"
                        f"{traceback.format_exc()}"
                    )
                    sys.stdout.flush()
                reply = _error(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    f"the request failed on the platform's side; request id {request_id}",
                )
                reply.headers["X-Request-Id"] = request_id
            self._answer(reply)

        def _body(self) -> tuple[str | None, Reply | None]:
            if self.headers.get("Transfer-Encoding"):
                return None, self._refuse(
                    HTTPStatus.LENGTH_REQUIRED,
                    "LENGTH_REQUIRED",
                    "send the body with a Content-Length (chunked bodies are not taken)",
                )
            declared = self.headers.get_all("Content-Length") or []
            if not declared:
                return None, None
            if len(set(declared)) != 1 or not declared[0].strip().isdigit():
                return None, self._refuse(
                    HTTPStatus.BAD_REQUEST,
                    "BAD_REQUEST",
                    "Content-Length must be one whole number of bytes",
                )
            length = int(declared[0])
            if length > MAX_BODY_BYTES:
                return None, self._refuse(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    f"the body is {length:,} bytes; at most {MAX_BODY_BYTES:,} are taken",
                )
            # The body too has a deadline, not only a read timeout: a byte every few seconds
            # would otherwise hold a connection (and, 256 of them, the whole front) for ever.
            self._reader.due_by = time.monotonic() + body_seconds
            try:
                raw = self.rfile.read(length) if length else b""
            except (TimeoutError, _NotInTime):
                return None, self._refuse(
                    HTTPStatus.REQUEST_TIMEOUT,
                    "REQUEST_TIMEOUT",
                    f"the body did not arrive in full within {body_seconds:g} s "
                    f"(Content-Length promised {length} bytes)",
                )
            finally:
                self._reader.due_by = None
            if len(raw) < length:
                return None, self._refuse(
                    HTTPStatus.BAD_REQUEST,
                    "BAD_REQUEST",
                    f"the body ended after {len(raw)} of the {length} bytes Content-Length promised",
                )
            if not length:
                return None, None
            try:
                return raw.decode("utf-8"), None
            except UnicodeDecodeError as error:
                # The API takes JSON, which is UTF-8: a body that is not is refused here, naming
                # where, rather than handed on with U+FFFD in place of what was sent.
                return None, self._refuse(
                    HTTPStatus.BAD_REQUEST,
                    "BAD_REQUEST",
                    f"the body is not UTF-8 (byte {error.start} is not valid UTF-8); send JSON in UTF-8",
                )

        def handle_expect_100(self):
            # A body that will be refused is not asked for.
            declared = self.headers.get("Content-Length", "").strip()
            if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
                return True
            return super().handle_expect_100()

        def _refuse(self, status: int, code: str, message: str) -> Reply:
            # The body was not read (or not all of it): the connection cannot carry another request.
            self.close_connection = True
            reply = _error(status, code, message)
            reply.headers["Connection"] = "close"
            return reply

        def handle(self):
            try:
                super().handle()
            except _CLIENT_GONE:  # it went away mid-request: nobody is left to answer
                self.close_connection = True

        def _answer(self, reply: Reply) -> None:
            payload = reply.body.encode()
            # An error found before the request's version was read leaves it at HTTP/0.9, for
            # which the stdlib writes the body alone: every answer here has its status line.
            if self.request_version == "HTTP/0.9":
                self.request_version = self.protocol_version
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            except _CLIENT_GONE:  # it went away before its answer (a 413 while it still sent)
                self.close_connection = True

        def send_error(self, code, message=None, explain=None):
            """Every error the stdlib answers by itself (an unknown method, oversize headers, a
            malformed request line), in the API's error shape: never its HTML page."""
            if code == HTTPStatus.NOT_IMPLEMENTED:  # a method the handler has no do_ for
                reply = gateway.method_not_allowed(self.command or "", self.path or "/")
            else:
                status = (
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    if code == HTTPStatus.REQUEST_URI_TOO_LONG
                    else code
                )
                error_code, text = _FRONT_ERRORS.get(
                    HTTPStatus(code), ("BAD_REQUEST", "the request is not well-formed")
                )
                reply = _error(status, error_code, text)
            self.close_connection = True
            reply.headers["Connection"] = "close"
            self._answer(reply)

        # The names BaseHTTPRequestHandler looks up for each method; any other is a 405.
        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = _dispatch  # noqa: N815 - the stdlib looks these up

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            pass

    server = _FrontServer(("127.0.0.1", port), Handler, max_connections)
    threading.Thread(target=server.serve_forever, name="api-gateway", daemon=True).start()
    return server
