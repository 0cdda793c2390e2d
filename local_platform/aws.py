"""The AWS APIs the platform uses (DynamoDB, Cognito), served on loopback by a moto server.

moto keeps its state in memory; to let data survive a restart with the same --data-dir, the
backends are pickled into the data dir every few seconds and when the platform stops, and loaded
back before the server starts.
"""

from __future__ import annotations

import copyreg
import json
import logging
import pickle
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3

from local_platform import wiring

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

REGION = "ap-south-1"
STATE_FILE = "aws-state.pickle"
RESOURCES_FILE = "resources.json"
SERVICES: tuple[Literal["dynamodb", "cognito-idp"], ...] = ("dynamodb", "cognito-idp")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


def _load_private_key(pem: bytes) -> RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    key = serialization.load_pem_private_key(pem, None)
    if not isinstance(key, RSAPrivateKey):
        raise TypeError(f"the saved state holds a {type(key).__name__}, not an RSA key")
    return key


def _register_key_pickling() -> None:
    """moto's user pools hold a `cryptography` RSA key, which does not pickle; it does as PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    # Only its type is used, to register the pickling of every key of that type.
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - signs nothing

    def reduce(
        private_key: RSAPrivateKey,
    ) -> tuple[Callable[[bytes], RSAPrivateKey], tuple[bytes]]:
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return _load_private_key, (pem,)

    copyreg.pickle(type(key), reduce)


def _backends() -> dict[str, Any]:
    from moto.backends import get_backend

    return {service: get_backend(service) for service in SERVICES}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _one_at_a_time(app: WSGIApplication, lock: threading.Lock) -> WSGIApplication:
    def application(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))

    return application


def _locked_moto_server() -> Callable[..., ThreadedMotoServer]:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class Server(ThreadedMotoServer):
        def __init__(self, lock: threading.Lock, **kwargs: Any):
            super().__init__(**kwargs)
            self._lock = lock

        def _server_entry(self) -> None:
            app = _one_at_a_time(DomainDispatcherApplication(create_backend_app), self._lock)
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server


class LocalAws:
    def __init__(self, data_dir: Path, region: str = REGION):
        self.data_dir = data_dir
        self.region = region
        self.endpoint_url = ""
        self._server: ThreadedMotoServer | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._saver: threading.Thread | None = None
        # Every request to moto holds it: moto's backends are not thread-safe (a transaction
        # deep-copies a table another request may be writing), and a snapshot taken under it is whole.
        self.requests = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> str:
        from moto.core import DEFAULT_ACCOUNT_ID

        server_class = _locked_moto_server()

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _register_key_pickling()
        state = self.data_dir / STATE_FILE
        if state.exists():
            saved = pickle.loads(state.read_bytes())  # noqa: S301 - the state this platform saved
            backends = _backends()
            for service, backend in saved.items():
                backends[service][DEFAULT_ACCOUNT_ID][self.region] = backend
        port = free_port()
        self._server = server_class(self.requests, ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.endpoint_url = f"http://127.0.0.1:{port}"
        return self.endpoint_url

    def start_autosave(self, interval_seconds: float = 5.0) -> None:
        def loop():
            while not self._stop.wait(interval_seconds):
                self.save()

        self._saver = threading.Thread(target=loop, name="aws-state-saver", daemon=True)
        self._saver.start()

    def save(self) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID

        with self._lock, self.requests:
            for _attempt in range(5):
                try:
                    data = pickle.dumps(
                        {
                            service: backend[DEFAULT_ACCOUNT_ID][self.region]
                            for service, backend in _backends().items()
                        }
                    )
                    break
                except (
                    RuntimeError
                ):  # a request changed a dict while it was being pickled; try again
                    continue
            else:
                return
            temporary = self.data_dir / (STATE_FILE + ".tmp")
            temporary.write_bytes(data)
            temporary.replace(self.data_dir / STATE_FILE)

    def stop(self) -> None:
        self._stop.set()
        if self._saver:
            self._saver.join(timeout=10)
        self.save()
        if self._server:
            self._server.stop()

    # -- clients and resources -----------------------------------------------------------------
    def client(self, service: str) -> Any:
        # boto3-stubs types only the services whose stubs are installed (not cognito-idp).
        return boto3.session.Session(  # type: ignore[call-overload]  # any service name, as above
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any key
            region_name=self.region,
        ).client(service, endpoint_url=self.endpoint_url)

    def ensure_resources(self, stack_name: str) -> dict[str, str]:
        """The table, user pool and app client: created on first start, found again after that."""
        recorded_file = self.data_dir / RESOURCES_FILE
        recorded = json.loads(recorded_file.read_text()) if recorded_file.exists() else {}
        table_name = recorded.get("TableName") or f"{stack_name}-{wiring.load().table['name']}"
        dynamodb = self.client("dynamodb")
        if table_name not in dynamodb.list_tables()["TableNames"]:
            wiring.create_table(dynamodb, table_name)
        cognito = self.client("cognito-idp")
        pools = {pool["Id"] for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]}
        pool_id = recorded.get("UserPoolId")
        if pool_id not in pools:
            pool_id = cognito.create_user_pool(
                PoolName=f"{stack_name}-users",
                Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireNumbers": True}},
                AutoVerifiedAttributes=["email"],
            )["UserPool"]["Id"]
            recorded.pop("UserPoolClientId", None)
        client_id = recorded.get("UserPoolClientId")
        if not client_id:
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
        recorded_file.write_text(json.dumps(resources, indent=2))
        self.save()
        return resources

    def jwks_url(self, pool_id: str) -> str:
        return f"{self.endpoint_url}/{pool_id}/.well-known/jwks.json"

    def issuer(self, pool_id: str) -> str:
        """What moto writes into `iss`: the AWS issuer, as a real pool's tokens carry."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}"
