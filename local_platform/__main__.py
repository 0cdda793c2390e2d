"""`./deploy.sh -e local` runs this: the whole platform on this machine (DESIGN.md section 5)."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from local_platform import wiring
from local_platform.api_gateway import LocalApiGateway, serve
from local_platform.auth import IdTokenVerifier
from local_platform.aws import FAKE_CREDENTIALS, LocalAws

ENVIRONMENT = "local"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deploy.sh -e local", description="Run the whole platform on this machine.")
    parser.add_argument("--port", type=int, default=3000, help="the REST API's port on 127.0.0.1 (default 3000)")
    parser.add_argument("--data-dir", type=Path, default=Path(".local"), help="where state and outputs.json live (default .local)")
    parser.add_argument("--clock-start", type=_aware_datetime, default=None,
                        help="the simulated 'now', ISO-8601 with offset, e.g. 2026-03-02T09:25:00+05:30 (default: real now)")
    parser.add_argument("--clock-speed", type=_positive_float, default=1.0, help="simulated seconds per real second (default 1)")
    return parser.parse_args(argv)


def _aware_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset; write it as e.g. 2026-03-02T09:25:00+05:30")
    return moment


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the clock speed must be positive")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    outputs_file = data_dir / "outputs.json"
    outputs_file.unlink(missing_ok=True)
    table_wiring = wiring.load()
    stack_name = table_wiring.stack_name(ENVIRONMENT)

    aws = LocalAws(data_dir)
    endpoint = aws.start()
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    server = None
    try:
        resources = aws.ensure_resources(stack_name)
        clock_start = args.clock_start or datetime.now().astimezone()
        os.environ.update(
            {
                **FAKE_CREDENTIALS,
                "AWS_DEFAULT_REGION": aws.region,
                "AWS_ENDPOINT_URL": endpoint,
                "TABLE_NAME": resources["TableName"],
                "PLATFORM_CLOCK_START": clock_start.isoformat(),
                "PLATFORM_CLOCK_SPEED": str(args.clock_speed),
                "PLATFORM_CLOCK_ANCHOR": repr(time.time()),
                "POWERTOOLS_SERVICE_NAME": "options-strategy-platform",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            }
        )
        verifier = IdTokenVerifier(
            aws.jwks_url(resources["UserPoolId"]), aws.issuer(resources["UserPoolId"]), resources["UserPoolClientId"]
        )
        try:
            server = serve(LocalApiGateway(table_wiring, verifier), args.port)
        except OSError as error:
            print(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror}; choose another --port", file=sys.stderr)
            return 1
        aws.start_autosave()
        outputs = {
            stack_name: {
                "ApiUrl": f"http://127.0.0.1:{args.port}/",
                "UserPoolId": resources["UserPoolId"],
                "UserPoolClientId": resources["UserPoolClientId"],
                "AwsEndpointUrl": endpoint,
                "Region": aws.region,
                "TableName": resources["TableName"],
                "Environment": ENVIRONMENT,
                "ClockStart": clock_start.isoformat(),
                "ClockSpeed": args.clock_speed,
            }
        }
        temporary = outputs_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(outputs, indent=2) + "\n")
        os.replace(temporary, outputs_file)
        print(
            f"Options Strategy Platform (local) is up.\n"
            f"  REST API      http://127.0.0.1:{args.port}/   (OpenAPI: /openapi.json, Swagger UI: /swagger)\n"
            f"  AWS endpoint  {endpoint}  (DynamoDB, Cognito)\n"
            f"  user pool     {resources['UserPoolId']}  client {resources['UserPoolClientId']}\n"
            f"  clock         {clock_start.isoformat()} x{args.clock_speed:g}\n"
            f"  outputs       {outputs_file}\n"
            f"Ctrl-C stops it; data stays in {data_dir}.",
            flush=True,
        )
        stopped.wait()
        return 0
    finally:
        if server is not None:
            server.shutdown()
        aws.stop()
        outputs_file.unlink(missing_ok=True)
        print("stopped; state saved.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
