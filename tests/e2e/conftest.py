"""Start the local platform exactly as the README does, and talk to it only over HTTP."""

import json
import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import boto3
import pytest
import requests

from local_platform.aws import free_port

ROOT = Path(__file__).resolve().parents[2]
STACK = "ql-algo-trading-local-options-trading-stack"
PASSWORD = "Tr4der!pass"


class Platform:
    def __init__(
        self,
        data_dir: Path,
        clock_start: str = "2026-03-02T09:25:00+05:30",
        clock_speed: float | None = None,
    ):
        self.data_dir = data_dir
        self.clock_start, self.clock_speed = clock_start, clock_speed
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.outputs: dict = {}
        self.log = data_dir / "platform.log"

    def start(self, timeout: float = 180) -> "Platform":
        outputs_file = self.data_dir / "outputs.json"
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))
        }
        self.process = subprocess.Popen(
            [
                str(ROOT / "deploy.sh"),
                "-e",
                "local",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--clock-start",
                self.clock_start,
                *(["--clock-speed", str(self.clock_speed)] if self.clock_speed else []),
            ],
            cwd=ROOT,
            env=environment,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not outputs_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the platform exited with {self.process.returncode}:\n{self.log.read_text()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"no outputs.json after {timeout}s:\n{self.log.read_text()}")
            time.sleep(0.2)
        self.outputs = json.loads(outputs_file.read_text())[STACK]
        return self

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode if self.process else 0

    @property
    def api(self) -> str:
        return self.outputs["ApiUrl"].rstrip("/")

    def engine(self) -> dict:
        """The local engine's state (an operator's view on loopback, not part of the API)."""
        return requests.get(self.api + "/local/engine", timeout=30).json()

    def now(self) -> datetime:
        return datetime.fromisoformat(self.engine()["now"].replace("Z", "+00:00"))

    def wait_until(self, moment: datetime, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.now() < moment:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the simulated clock did not reach {moment} in {timeout}s (it says {self.now()})"
                )
            time.sleep(0.2)

    def cognito(self):
        return boto3.client(
            "cognito-idp",
            endpoint_url=self.outputs["AwsEndpointUrl"],
            region_name=self.outputs["Region"],
            aws_access_key_id="anything",
            aws_secret_access_key="anything",
        )

    def sign_up(self, username: str) -> str:
        """The ordinary Cognito flow; locally any confirmation code is accepted (no mail is sent)."""
        client_id = self.outputs["UserPoolClientId"]
        idp = self.cognito()
        idp.sign_up(
            ClientId=client_id,
            Username=username,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
        )
        idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode="000000")
        return self.sign_in(username)

    def sign_in(self, username: str) -> str:
        result = self.cognito().initiate_auth(
            ClientId=self.outputs["UserPoolClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )
        return result["AuthenticationResult"]["IdToken"]


class Client:
    def __init__(self, platform: Platform, token: str | None):
        self.platform, self.token = platform, token

    def call(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.request(
            method, self.platform.api + path, json=body, headers=headers, timeout=30
        )

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body):
        return self.call("POST", path, body)

    def put(self, path, body):
        return self.call("PUT", path, body)

    def delete(self, path):
        return self.call("DELETE", path)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    running = Platform(tmp_path_factory.mktemp("local-platform")).start()
    yield running
    running.stop()
