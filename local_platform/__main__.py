"""`./deploy.sh -e local` runs this: the whole platform on this machine (README, "The two commands")."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lambda_functions.environment import check_functions, clock_from_environment
from local_platform import wiring
from local_platform.api_gateway import LocalApiGateway, serve
from local_platform.auth import IdTokenVerifier
from local_platform.aws import FAKE_CREDENTIALS, STOP_WAIT_SECONDS, within
from local_platform.aws_process import AwsProcess
from local_platform.bounds import (
    forget_expired_tokens,
    remove_expired_items,
    stop_tracking_model_instances,
)
from local_platform.engine import Engine, build_engine, function_output, session_bounds
from local_platform.journal import StateDamaged
from local_platform.lock import DataDirInUse, hold_data_dir
from shared_utils.domain.clock import Clock, SteppedClock
from shared_utils.market.calendar import built_in_calendar

ENVIRONMENT = "local"
STOP_GRACE_SECONDS = 5.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy.sh -e local", description="Run the whole platform on this machine."
    )
    parser.add_argument(
        "--port", type=int, default=3000, help="the REST API's port on 127.0.0.1 (default 3000)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".local"),
        help="where state and outputs.json live (default .local)",
    )
    parser.add_argument(
        "--clock-start",
        type=_aware_datetime,
        default=None,
        help="the simulated 'now', ISO-8601 with offset, e.g. 2026-03-02T09:25:00+05:30 (default: real now)",
    )
    parser.add_argument(
        "--clock-speed",
        type=_positive_float,
        default=1.0,
        help="simulated seconds per real second (default 1)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="set up a demo trader (user 'demo') with the spec's Iron Condor on paper accounts ZERODHA123 and ANGELONE456",
    )
    parser.add_argument(
        "--session",
        type=_trading_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="run that trading day from 08:55 to after the close as fast as this machine can, then write a report and exit",
    )
    args = parser.parse_args(argv)
    if args.session and args.clock_start:
        parser.error("--session runs its own day from 08:55 IST; leave out --clock-start")
    return args


def _trading_day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    calendar = built_in_calendar()
    if calendar.session_on(day) is None:
        raise argparse.ArgumentTypeError(
            f"{text} has no trading session ({calendar.holiday_name(day) or 'a weekend'})"
        )
    return day


def _aware_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no offset; write it as e.g. 2026-03-02T09:25:00+05:30"
        )
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
    try:
        # Before anything else: only the holder may touch outputs.json, the state or the journal.
        held = hold_data_dir(data_dir)
    except DataDirInUse as error:
        print(f"not started: {error}", file=sys.stderr)
        return 1
    try:
        return _run(args, data_dir, held.fileno())
    except StateDamaged as error:
        print(f"not started: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a file of the data dir this user cannot read, a disk that fails
        print(
            f"not started: {error.filename or data_dir}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    finally:
        held.close()


def _run(args: argparse.Namespace, data_dir: Path, lock_descriptor: int) -> int:
    outputs_file = data_dir / "outputs.json"
    outputs_file.unlink(missing_ok=True)
    table_wiring = wiring.load()
    stack_name = table_wiring.stack_name(ENVIRONMENT)

    calendar = built_in_calendar()
    session = session_bounds(args.session, calendar) if args.session else None
    # Before the state is restored: what it restores is not tracked, a restored pool forgets
    # expired tokens at its next sign-in.
    stop_tracking_model_instances()
    forget_expired_tokens()
    # moto in a process of its own: the functions' botocore and moto's answers on two cores.
    aws = AwsProcess(data_dir, close_in_child=[lock_descriptor])
    endpoint = aws.start()
    for note in aws.notes:
        print(f"AWS state: {note}", file=sys.stderr, flush=True)
    stopped = threading.Event()
    aws.watch(stopped)

    def stop(signum, frame):
        if stopped.is_set():  # asked twice: stop now, whatever is in hand
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        stopped.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    server = engine = None
    try:
        resources = aws.ensure_resources(stack_name)
        clock_start = session[0] if session else (args.clock_start or datetime.now().astimezone())
        os.environ.update(
            {
                **FAKE_CREDENTIALS,
                "AWS_DEFAULT_REGION": aws.region,
                "AWS_ENDPOINT_URL": endpoint,
                "TABLE_NAME": resources["TableName"],
                "EVENT_BUS_NAME": f"{stack_name}-events",
                "POWERTOOLS_SERVICE_NAME": "options-strategy-platform",
                "POWERTOOLS_METRICS_NAMESPACE": "OptionsStrategyPlatform",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
            }
        )
        if session:
            os.environ["PLATFORM_CLOCK_MODE"] = "stepped"
            SteppedClock.start_at(clock_start)
        else:
            os.environ.update(
                {
                    "PLATFORM_CLOCK_START": clock_start.isoformat(),
                    "PLATFORM_CLOCK_SPEED": str(args.clock_speed),
                    "PLATFORM_CLOCK_ANCHOR": repr(time.time()),
                }
            )
        clock = clock_from_environment()
        expired = remove_expired_items(
            aws.client("dynamodb"),
            resources["TableName"],
            table_wiring.table,
            clock.now().timestamp(),
        )
        if expired:
            print(
                f"AWS state: {expired} expired item(s) removed (the table's TTL)", file=sys.stderr
            )
        engine = build_engine(
            table_wiring,
            prefix=stack_name,
            region=aws.region,
            clock=clock,
            stepped=bool(session),
            speed=args.clock_speed,
            calendar=calendar,
            data_dir=data_dir,
        )
        os.environ.update(engine.environment())
        check_functions(table_wiring.functions)
        verifier = IdTokenVerifier(
            aws.jwks_url(resources["UserPoolId"]),
            aws.issuer(resources["UserPoolId"]),
            resources["UserPoolClientId"],
        )
        try:
            gateway = LocalApiGateway(
                table_wiring,
                verifier,
                None,
                {"/local/engine": engine.status},
                output=lambda: function_output(data_dir / "functions.log"),
                not_durable=lambda: aws.not_durable,
            )
            server = serve(gateway, args.port)
        except OSError as error:
            print(
                f"cannot listen on 127.0.0.1:{args.port}: {error.strerror}; choose another --port",
                file=sys.stderr,
            )
            return 1
        demo = None
        if args.demo:
            from local_platform.demo import set_up_demo

            demo = set_up_demo(
                aws.client("cognito-idp"),
                resources["UserPoolId"],
                aws.client("dynamodb"),
                resources["TableName"],
                clock,
            )
        aws.start_compaction()
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
                "ClockSpeed": "stepped" if session else args.clock_speed,
            }
        }
        temporary = outputs_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(outputs, indent=2) + "\n")
        temporary.replace(outputs_file)
        clock_text = (
            f"{clock_start.isoformat()}, the session of {args.session} as fast as this machine runs it"
            if session
            else f"{clock_start.isoformat()} x{args.clock_speed:g}"
        )
        print(
            f"Options Strategy Platform (local) is up.\n"
            f"  REST API      http://127.0.0.1:{args.port}/   (OpenAPI: /openapi.json, Swagger UI: /swagger, engine: /local/engine)\n"
            f"  AWS endpoint  {endpoint}  (DynamoDB, Cognito); engine {engine.endpoint} (Step Functions, EventBridge)\n"
            f"  user pool     {resources['UserPoolId']}  client {resources['UserPoolClientId']}\n"
            f"  clock         {clock_text}\n"
            f"  outputs       {outputs_file}   (the functions' logs: {data_dir / 'functions.log'})\n"
            + (
                f"  demo trader   {demo['username']} / {demo['password']} (set up: {demo['created']})\n"
                if demo
                else ""
            )
            + (
                f"Ctrl-C stops it; data stays in {data_dir}."
                if not session
                else "Ctrl-C ends the session early."
            ),
            flush=True,
        )
        engine.rules.start()
        if session:
            try:
                code = _run_session(
                    engine,
                    args.session,
                    session,
                    clock,
                    stopped,
                    data_dir,
                    lambda day: _traders_on(aws.client("dynamodb"), resources["TableName"], day),
                )
            except Exception:
                if aws.lost:  # the report reads the table, which went with it: its line says so
                    return 1
                raise
            return 1 if aws.lost else code
        worker = threading.Thread(
            target=engine.scheduler.run, args=(stopped,), name="engine", daemon=True
        )
        worker.start()
        stopped.wait()
        # A short job in hand may finish; one that does not is cut off with the AWS endpoint
        # (what it had written and was acknowledged is journaled, as after a kill).
        worker.join(timeout=STOP_GRACE_SECONDS)
        return 1 if aws.lost else 0
    finally:
        stopped.set()
        # The front first (no new requests), then the engine, then AWS (a final snapshot). Each
        # step is waited for a bounded time: a server's shutdown waits for its loop, and a
        # ThreadingHTTPServer's server_close for its handler threads, without a timeout; whatever
        # is still in hand then is cut off, as a kill would (every acknowledged write is journaled).
        late: list[str] = []
        if server is not None:
            front = server
            if not within(STOP_WAIT_SECONDS, front.shutdown):
                late.append("the REST API's server")
            front.server_close()
        if engine is not None and not within(STOP_WAIT_SECONDS, engine.stop):
            late.append("the engine's control plane")
        saved = aws.stop()
        outputs_file.unlink(missing_ok=True)
        for what in late:
            print(
                f"stopping: {what} did not stop within {STOP_WAIT_SECONDS:g} s; cut off",
                file=sys.stderr,
            )
        print(f"stopped; {saved}.", flush=True)


def _traders_on(client: Any, table_name: str, day: date) -> set[str]:
    """Who had orders on `day` (a scan: local only, where the table is this machine's)."""
    traders, request = (
        set(),
        {
            "TableName": table_name,
            "ProjectionExpression": "user_id",
            "FilterExpression": "entity_type = :order AND begins_with(sort_key, :day)",
            "ExpressionAttributeValues": {
                ":order": {"S": "ORDER"},
                ":day": {"S": f"ORDER#{day:%Y%m%d}#"},
            },
        },
    )
    while True:
        page = client.scan(**request)
        traders |= {item["user_id"]["S"] for item in page.get("Items", [])}
        if "LastEvaluatedKey" not in page:
            return traders
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _run_session(
    engine: Engine,
    day: date,
    bounds: tuple[datetime, datetime],
    clock: Clock,
    stopped: threading.Event,
    data_dir: Path,
    traders_that_day: Callable[[date], set[str]],
) -> int:
    from lambda_functions.composition import market, table
    from local_platform.session import SessionWatch
    from shared_utils.adapters.dynamodb.engine_tables import engine_tables
    from shared_utils.engine.queries import ExecutionQueries

    stores = engine_tables(table(), clock)
    queries = ExecutionQueries(
        stores.executions, stores.orders, stores.positions, stores.schedule, clock, market()
    )
    watch = SessionWatch(queries, clock, day, *bounds)
    engine.functions.observers.append(watch.observe)
    engine.scheduler.run(stopped, until=bounds[1], on_idle=watch.on_idle)
    watch.sample(clock.now())
    watch.draw(clock.now(), final=True)
    json_path, html_path = watch.write_report(
        data_dir, engine.timer.as_dict(), traders_that_day(day)
    )
    failed = engine.scheduler.failed
    print(
        f"session of {day} {'ended early' if stopped.is_set() else 'done'}: {watch.executions} executions, "
        f"{watch.orders} orders, P&L {watch.pnl_now():,.2f}\n  report  {html_path}\n          {json_path}"
        + (f"\n  {failed} engine job(s) failed; see above" if failed else ""),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The state is saved and the journal closed: an engine job still in hand (its thread is one
    # the interpreter would wait for) has nothing left to write anywhere, so do not wait for it.
    os._exit(code)
