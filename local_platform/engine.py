"""The local platform's control plane: what EventBridge, Step Functions and Lambda do in AWS, done
here on the platform's clock, from the same wiring table and the same ASL definitions.

- A scheduler runs jobs (a handler invocation, an event delivery, a workflow step) when their
  simulated time comes, several at once, as Lambda runs them. On a real-time clock it sleeps until
  then; on a stepped clock it moves time to the next due job once everything due before has run.
- The daily schedule rules fire timer_starter at their cron times (and at once on start-up when
  today's time has passed while the market is still open, so a platform started at 09:25 trades).
- State machines run in the local ASL interpreter; their Lambda tasks call the handlers in-process.
- Events put on the bus are matched against the wiring table's rules with EventBridge's pattern
  semantics and delivered to their handlers; alerts go to `alerts.jsonl` (the alarm topic's stand-in).
- The handlers reach these through boto3, unchanged: a small endpoint answers Step Functions'
  StartExecution and EventBridge's PutEvents, and AWS_ENDPOINT_URL_SFN / _EVENTBRIDGE point there.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import heapq
import itertools
import json
import logging
import os
import sys
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, TextIO

from local_platform.api_gateway import LambdaContext
from local_platform.asl import Execution, StateMachine, StatesError
from local_platform.wiring import ROOT, Wiring
from shared_utils.domain.clock import IST, Clock, SteppedClock, utc_iso
from shared_utils.engine.emitter import alert_types, event_types
from shared_utils.market.calendar import TradingCalendar

# (label, job, own_thread): what the scheduler runs, and whether on a thread of its own.
Job = tuple[str, Callable[[], None], bool]
Log = Callable[[str], None]

ACCOUNT = "000000000000"
# What the engine keeps of what it ran, whatever the length of the run: the operator's view shows the
# latest few, and a platform that runs for weeks must not hold every run of every day.
FINISHED_EXECUTIONS_KEPT = 50
FAILURES_KEPT = 200
# Step Functions refuses a STANDARD execution's name again for 90 days after it was used.
EXECUTION_NAMES_KEPT_FOR = timedelta(days=90)
WEEKDAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}


# -- scheduling --------------------------------------------------------------------------------
@dataclass(order=True)
class _Timer:
    at: datetime
    seq: int
    label: str = field(compare=False)
    job: Callable[[], None] = field(compare=False)
    own_thread: bool = field(compare=False, default=False)


class Scheduler:
    """Runs jobs (a handler invocation, an event delivery, a workflow step) when their simulated
    time comes, several at once as Lambda would (each event's handlers run on their own, so a slow
    one never holds back the timer). On a stepped clock, time moves to the next due job only once
    nothing is running and nothing else is due."""

    def __init__(
        self,
        clock: Clock,
        *,
        stepped: bool,
        speed: float = 1.0,
        log: Log = print,
        workers: int = 8,
    ):
        self.clock, self.stepped, self.speed, self.log = clock, stepped, speed, log
        self._ready: deque[Job] = deque()
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._changed = threading.Condition()
        self._running = 0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine")
        self.jobs_run = 0
        self.failed = 0  # every job that failed, since the start
        self.failures: list[str] = []  # the latest FAILURES_KEPT of them

    def submit(self, label: str, job: Callable[[], None], own_thread: bool = False) -> None:
        with self._changed:
            self._ready.append((label, job, own_thread))
            self._changed.notify_all()

    def at(
        self, moment: datetime, label: str, job: Callable[[], None], own_thread: bool = False
    ) -> None:
        with self._changed:
            heapq.heappush(
                self._timers,
                _Timer(moment.astimezone(UTC), next(self._seq), label, job, own_thread),
            )
            self._changed.notify_all()

    def run(
        self,
        stop: threading.Event,
        until: datetime | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        """Start jobs as they come due until `stop` is set, or (given `until`) until simulated time
        passes it with nothing running or due before."""
        while not stop.is_set():
            next_job = self._next(until, on_idle)
            if next_job is False:
                break
            if next_job is not None:
                label, job, own_thread = next_job
                if own_thread:  # a state machine's step: never queued behind busy handlers
                    threading.Thread(
                        target=self._run_one, args=(label, job), name=label[:40], daemon=True
                    ).start()
                else:
                    self._pool.submit(self._run_one, label, job)
        with self._changed:  # let what is running finish
            self._changed.wait_for(lambda: self._running == 0, timeout=30)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run_one(self, label: str, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception as error:  # one failing job must not stop the platform's day
            self.failed += 1
            self.failures.append(f"{label}: {type(error).__name__}: {error}")
            del self.failures[:-FAILURES_KEPT]
            self.log(f"engine: {label} failed: {type(error).__name__}: {error}")
        finally:
            with self._changed:
                self._running -= 1
                self.jobs_run += 1
                self._changed.notify_all()

    def _next(
        self, until: datetime | None, on_idle: Callable[[], None] | None
    ) -> Job | Literal[False] | None:
        with self._changed:
            now = self.clock.now()
            while self._timers and self._timers[0].at <= now:
                timer = heapq.heappop(self._timers)
                self._ready.append((timer.label, timer.job, timer.own_thread))
            if self._ready:
                self._running += 1
                return self._ready.popleft()
            if self.stepped and self._running:
                self._changed.wait(timeout=0.5)  # what runs now may yet put work at this moment
                return None
            upcoming = self._timers[0].at if self._timers else None
            if self.stepped:
                if on_idle is not None:
                    self._changed.release()
                    try:
                        on_idle()
                    finally:
                        self._changed.acquire()
                    if self._ready:
                        return None
                if upcoming is None or (until is not None and upcoming > until):
                    if until is not None and until > now:
                        SteppedClock.move_to(until)
                    return False
                SteppedClock.move_to(upcoming)
                return None
            if until is not None and now >= until:
                return False
            wait = 0.5 if upcoming is None else (upcoming - now).total_seconds() / self.speed
            self._changed.wait(timeout=max(0.0, min(wait, 0.5)))
            return None


# -- Lambda ------------------------------------------------------------------------------------
class LocalFunctions:
    """The wiring table's handlers, invoked in-process as Lambda would invoke them."""

    def __init__(
        self,
        wiring: Wiring,
        log_file: Path | None = None,
        clock_now: Callable[[], datetime] | None = None,
    ):
        self.wiring, self.log_file = wiring, log_file
        self.clock_now = clock_now or (lambda: datetime.now(UTC))
        self.stats: dict[str, dict[str, Any]] = defaultdict(
            lambda: {
                "invocations": 0,
                "errors": 0,
                "last_result": None,
                "last_error": None,
                "recent": deque(maxlen=50),
            }
        )
        self.observers: list[Callable[[str, Any, Any], None]] = []

    def invoke(self, name: str, payload: Any) -> Any:
        stats = self.stats[name]
        stats["invocations"] += 1
        try:
            handler = self.wiring.handler(name)
            with function_output(self.log_file):
                result = handler(copy.deepcopy(payload), LambdaContext(function_name=name))
        except Exception as error:
            stats["errors"] += 1
            stats["last_error"] = f"{type(error).__name__}: {error}"
            raise StatesError(type(error).__name__, str(error)) from error
        # What Lambda hands back is JSON: nothing of Python's types survives the trip.
        result = json.loads(json.dumps(result, default=str))
        stats["last_result"] = result
        stats["recent"].append({"at": utc_iso(self.clock_now()), "result": result})
        for observe in self.observers:
            try:
                observe(name, payload, result)
            except Exception as error:  # a watcher's fault is not the function's
                _to_stderr(f"engine: an observer failed on {name}: {type(error).__name__}: {error}")
        return result


class _ThreadStdout:
    """sys.stdout, per thread: a function's output goes to its log while the rest of the process
    (and other threads) write where they always did."""

    def __init__(self, default: TextIO):
        self.default, self.local = default, threading.local()
        self._lost: str | None = None

    def _target(self) -> TextIO:
        sink: TextIO | None = getattr(self.local, "sink", None)
        return sink or self.default

    def write(self, text: str) -> int:
        target = self._target()
        try:
            return target.write(text)
        except OSError as error:
            if target is self.default:
                raise
            self._log_lost(error)
            return len(text)

    def flush(self) -> None:
        target = self._target()
        try:
            target.flush()
        except OSError as error:
            if target is self.default:
                raise
            self._log_lost(error)

    def _log_lost(self, error: OSError) -> None:
        """A disk that is full refuses the functions' log too: the function still answers (its
        log line is lost), and the console says so once rather than a traceback per line."""
        if self._lost is None:
            self._lost = str(error)
            _to_stderr(f"engine: the functions' log takes no more lines ({error}); they are lost")

    def isatty(self) -> bool:
        return self._target().isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.default, name)


def serialise_metrics() -> None:
    """Powertools keeps one metric set for every Metrics in the process (in Lambda, one invocation
    runs at a time). Handlers run at once here, so adding to it and flushing it take turns."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
        AmazonCloudWatchEMFProvider,
    )

    if getattr(AmazonCloudWatchEMFProvider, "_local_turns", None):
        return
    turns = threading.RLock()
    for name in ("add_metric", "flush_metrics", "serialize_metric_set", "clear_metrics"):
        original = getattr(AmazonCloudWatchEMFProvider, name)

        def taking_turns(*args, _original=original, **kwargs):
            with turns:
                return _original(*args, **kwargs)

        setattr(AmazonCloudWatchEMFProvider, name, taking_turns)
    # Marks the provider as patched, so a second engine in the process does not wrap it again.
    setattr(AmazonCloudWatchEMFProvider, "_local_turns", turns)  # noqa: B010 - not a declared attribute


_sinks: dict[Path, Any] = {}
_sinks_lock = threading.Lock()


@contextlib.contextmanager
def function_output(log_file: Path | None) -> Iterator[None]:
    """What a function prints (its logs, its metrics as EMF) goes where CloudWatch Logs would take
    it: a file in --data-dir, not the terminal."""
    if log_file is None:
        yield
        return
    with _sinks_lock:
        if not isinstance(sys.stdout, _ThreadStdout):
            sys.stdout = _ThreadStdout(sys.stdout)
        if log_file not in _sinks:
            _sinks[log_file] = log_file.open("a", buffering=1)
        sink = _sinks[log_file]
        # Powertools' Logger writes to the stream it was made with: make that the per-thread one.
        service = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined"))
        for handler in service.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is not sys.stdout:
                handler.setStream(sys.stdout)
    router: _ThreadStdout = sys.stdout
    previous = getattr(router.local, "sink", None)
    router.local.sink = sink
    try:
        yield
    finally:
        router.local.sink = previous
        service = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined"))
        for handler in (
            service.handlers
        ):  # a Logger made during the call captured the sink: give it the router
            if isinstance(handler, logging.StreamHandler) and handler.stream is sink:
                handler.setStream(router)


# -- Step Functions ----------------------------------------------------------------------------
class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class LocalStepFunctions:
    def __init__(
        self,
        wiring: Wiring,
        prefix: str,
        region: str,
        functions: LocalFunctions,
        scheduler: Scheduler,
        clock: Clock,
        log: Log = print,
    ):
        self.functions, self.scheduler, self.clock, self.log = functions, scheduler, clock, log
        self.machines: dict[str, StateMachine] = {}
        self.arns: dict[str, str] = {}
        for name, spec in wiring.raw["state_machines"].items():
            arn = (
                f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{prefix}-{name.replace('_', '-')}"
            )
            definition = json.loads((ROOT / spec["definition"]).read_text())
            self.machines[arn] = StateMachine(name, definition, dict(spec["invokes"]))
            self.arns[name] = arn
        # Every running execution and the latest finished ones, by (state machine, name).
        self.executions: dict[tuple[str, str], Execution] = {}
        self._finished: deque[tuple[str, str]] = deque()
        # The names of finished executions no longer kept, with when each started: still refused.
        self.used_names: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def start_execution(self, arn: str, name: str | None, input_text: str | None) -> dict[str, Any]:
        if arn not in self.machines:
            raise ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        name = name or str(uuid.uuid4())
        document = json.loads(input_text or "{}")
        execution_arn = arn.replace(":stateMachine:", ":execution:") + f":{name}"
        with self._lock:
            known = self.executions.get((arn, name))
            if known is not None:
                # As the service: the same name and input while it runs is that same execution.
                if known.status == "RUNNING" and known.input == document:
                    return {"executionArn": execution_arn, "startDate": known.started.timestamp()}
                raise ApiError(
                    "ExecutionAlreadyExists", f"Execution Already Exists: '{execution_arn}'"
                )
            if (arn, name) in self.used_names:
                raise ApiError(
                    "ExecutionAlreadyExists", f"Execution Already Exists: '{execution_arn}'"
                )
            execution = Execution(
                self.machines[arn], name, document, self.clock.now(), self.functions.invoke
            )
            self.executions[(arn, name)] = execution
        self.scheduler.submit(
            f"{self.machines[arn].name}:{name}", lambda: self._advance(execution), own_thread=True
        )
        return {"executionArn": execution_arn, "startDate": execution.started.timestamp()}

    def _advance(self, execution: Execution) -> None:
        wake = execution.advance(self.clock.now())
        if wake is not None:
            self.scheduler.at(
                wake,
                f"{execution.machine.name}:{execution.name}",
                lambda: self._advance(execution),
                own_thread=True,
            )
        else:
            self._finish(execution)
            if execution.status == "FAILED":
                self.log(
                    f"engine: {execution.machine.name} {execution.name} failed: {execution.error}"
                )

    def _finish(self, execution: Execution) -> None:
        """Keep the latest finished executions whole; of older ones only the name, for as long as
        Step Functions would refuse it again."""
        key = (self.arns[execution.machine.name], execution.name)
        with self._lock:
            self._finished.append(key)
            while len(self._finished) > FINISHED_EXECUTIONS_KEPT:
                dropped = self.executions.pop(self._finished.popleft())
                self.used_names[(self.arns[dropped.machine.name], dropped.name)] = dropped.started
            forgotten = execution.started - EXECUTION_NAMES_KEPT_FOR
            for old in [k for k, started in self.used_names.items() if started < forgotten]:
                del self.used_names[old]


# -- EventBridge -------------------------------------------------------------------------------
_ABSENT = object()


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's pattern semantics: every field of the pattern must match; a list matches if any
    of its values does; an array in the event matches if any element does; objects nest."""
    for key, expected in pattern.items():
        value = event.get(key, _ABSENT)
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif not any(_matches_value(rule, value) for rule in expected):
            return False
    return True


def _matches_value(rule: Any, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if isinstance(rule, dict):
        ((kind, argument),) = rule.items()
        if kind == "exists":
            return (value is not _ABSENT) == bool(argument)
        present = [v for v in values if v is not _ABSENT]
        if kind == "prefix":
            return any(isinstance(v, str) and v.startswith(argument) for v in present)
        if kind == "anything-but":
            excluded = argument if isinstance(argument, list) else [argument]
            return bool(present) and all(v not in excluded for v in present)
        raise ValueError(f"pattern operator {kind} is not supported locally")
    return any(v == rule for v in values if v is not _ABSENT)


@dataclass(frozen=True)
class LocalRule:
    name: str
    pattern: dict[str, Any]
    target: str  # a function name, or "alarm_topic"
    coalesce: bool = False  # a minute-by-minute check: one at a time


class LocalEventBus:
    def __init__(
        self,
        wiring: Wiring,
        region: str,
        functions: LocalFunctions,
        scheduler: Scheduler,
        clock: Clock,
        alerts_file: Path,
        log: Log = print,
    ):
        self.region, self.functions, self.scheduler, self.clock = (
            region,
            functions,
            scheduler,
            clock,
        )
        self.alerts_file, self.log = alerts_file, log
        types = {t.name: t for t in event_types()[0]}
        self.rules = [
            LocalRule(
                rule["name"],
                {
                    "source": [types[rule["event"]].source],
                    "detail-type": [types[rule["event"]].detail_type],
                },
                rule["target"],
                coalesce=types[rule["event"]].every_minutes == 1,
            )
            for rule in wiring.raw["events"]["rules"]
        ] + [
            LocalRule(
                f"{name}_alerts",
                {"source": [alert["source"]], "detail-type": [alert["detail_type"]]},
                "alarm_topic",
            )
            for name, alert in alert_types().items()
        ]
        self.delivered: dict[str, int] = defaultdict(int)
        self.dropped_busy: dict[str, int] = defaultdict(int)
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

    def put_events(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        answers = []
        for entry in entries:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry.get("DetailType"),
                "source": entry.get("Source"),
                "account": ACCOUNT,
                "time": _event_time(entry.get("Time"), self.clock.now()),
                "region": self.region,
                "resources": entry.get("Resources", []),
                "detail": json.loads(entry.get("Detail") or "{}"),
            }
            for rule in self.rules:
                if matches(rule.pattern, event):
                    self.delivered[rule.name] += 1
                    self.scheduler.submit(
                        f"{rule.name}->{rule.target}", functools.partial(self._deliver, rule, event)
                    )
            answers.append({"EventId": event["id"]})
        return {"FailedEntryCount": 0, "Entries": answers}

    def _deliver(self, rule: LocalRule, event: dict[str, Any]) -> None:
        # A minute's check still running when the next minute's event comes: the newer one is
        # dropped, as the stack's 90-second event age would drop it on a machine this busy, rather
        # than let checks pile up behind each other. The schedule trigger is never dropped.
        if not rule.coalesce:
            return self._deliver_now(rule, event)
        with self._busy_lock:
            if rule.name in self._busy:
                self.dropped_busy[rule.name] += 1
                return None
            self._busy.add(rule.name)
        try:
            self._deliver_now(rule, event)
        finally:
            with self._busy_lock:
                self._busy.discard(rule.name)

    def _deliver_now(self, rule: LocalRule, event: dict[str, Any]) -> None:
        if rule.target == "alarm_topic":
            with self.alerts_file.open("a") as alerts:
                alerts.write(json.dumps(event) + "\n")
            self.log(f"ALERT {event['detail-type']}: {json.dumps(event['detail'])}")
            return
        try:
            self.functions.invoke(rule.target, event)
        except StatesError as error:
            self.log(f"engine: {rule.target} failed on {event['detail-type']}: {error}")


def _event_time(value: Any, now: datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the daily rules ---------------------------------------------------------------------------
def next_cron_time(cron: dict[str, str], after: datetime) -> datetime:
    """The first moment after `after` that EventBridge's cron(minute hour ? * week_day *) fires (UTC)."""
    first, _, last = cron["week_day"].partition("-")
    days = range(WEEKDAYS[first], WEEKDAYS[last or first] + 1)
    moment = after.astimezone(UTC)
    day = moment.date()
    while True:
        fire = datetime.combine(day, time(int(cron["hour"]), int(cron["minute"])), UTC)
        if fire > moment and fire.weekday() in days:
            return fire
        day += timedelta(days=1)


class DailyRules:
    def __init__(
        self,
        wiring: Wiring,
        functions: LocalFunctions,
        scheduler: Scheduler,
        clock: Clock,
        calendar: TradingCalendar,
        log: Log = print,
    ):
        self.wiring, self.functions, self.scheduler, self.clock, self.calendar, self.log = (
            wiring,
            functions,
            scheduler,
            clock,
            calendar,
            log,
        )

    def start(self) -> None:
        now = self.clock.now()
        for name, spec in self.wiring.raw["schedules"].items():
            today = now.astimezone(IST).date()
            todays = next_cron_time(
                spec["cron_utc"], datetime.combine(today, time(0), IST) - timedelta(seconds=1)
            )
            session = self.calendar.session_on(today)
            # Started after today's time but while the market is still open: fire now, for today.
            if (
                todays.astimezone(IST).date() == today
                and todays <= now
                and session is not None
                and now < session.close_at()
            ):
                self.scheduler.submit(
                    f"{name} (catching up)",
                    functools.partial(self._fire, name, spec, todays, reschedule=False),
                )
            self._schedule(name, spec, now)
        self._catch_up_after_the_close(now)

    def _catch_up_after_the_close(self, now: datetime) -> None:
        """Started after today's close, no timer runs today: the schedule trigger runs once now, so
        what was due while the platform was stopped is marked MISSED (started during the session,
        the timer's first tick catches up; before the open nothing was due yet)."""
        session = self.calendar.session_on(now.astimezone(IST).date())
        if session is None or now < session.close_at():
            return
        (trigger_type,) = [t for t in event_types()[0] if t.name == "schedule_strategy_trigger"]
        targets = [
            rule["target"]
            for rule in self.wiring.raw["events"]["rules"]
            if rule["event"] == trigger_type.name
        ]
        minute = now.astimezone(UTC).replace(second=0, microsecond=0)
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": trigger_type.detail_type,
            "source": trigger_type.source,
            "account": ACCOUNT,
            "time": minute.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [],
            "detail": {
                "tick": utc_iso(minute),
                "trading_date": session.day.isoformat(),
                "phase": self.calendar.phase_at(minute),
                "window": {"from": utc_iso(minute), "to": utc_iso(minute)},
            },
        }
        for target in targets:
            self.scheduler.submit(
                f"{target} (catching up after the close)",
                functools.partial(self._catch_up, target, event),
            )

    def _catch_up(self, target: str, event: dict[str, Any]) -> None:
        result = self.functions.invoke(target, event)
        for missed in result.get("missed", []):
            self.log(f"engine: MISSED {missed}")

    def _schedule(self, name: str, spec: dict, after: datetime) -> None:
        fire = next_cron_time(spec["cron_utc"], after)
        self.scheduler.at(fire, name, lambda: self._fire(name, spec, fire, reschedule=True))

    def _fire(self, name: str, spec: dict, fire: datetime, reschedule: bool) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": fire.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [name],
            "detail": {},
        }
        try:
            result = self.functions.invoke(spec["target"], event)
            self.log(
                f"engine: {name} at {fire.astimezone(IST):%Y-%m-%d %H:%M} IST: {json.dumps(result)}"
            )
        finally:
            if reschedule:
                self._schedule(name, spec, fire)


# -- the endpoint the handlers' boto3 clients reach --------------------------------------------
def serve_control_plane(
    step_functions: LocalStepFunctions, bus: LocalEventBus
) -> ThreadingHTTPServer:
    operations: dict[str, Callable[[dict], dict]] = {
        "AWSStepFunctions.StartExecution": lambda body: step_functions.start_execution(
            body["stateMachineArn"], body.get("name"), body.get("input")
        ),
        "AWSEvents.PutEvents": lambda body: bus.put_events(body.get("Entries", [])),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            target = self.headers.get("X-Amz-Target", "")
            body = json.loads(
                self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"
            )
            try:
                if target not in operations:
                    raise ApiError("UnknownOperationException", f"{target} is not served locally")
                status, answer = 200, operations[target](body)
            except ApiError as error:
                status, answer = 400, {"__type": error.code, "message": str(error)}
            except (
                KeyError,
                ValueError,
                TypeError,
            ) as error:  # a malformed request: say so, never retry it
                status, answer = (
                    400,
                    {
                        "__type": "ValidationException",
                        "message": f"{type(error).__name__}: {error}",
                    },
                )
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # server_close() joins non-daemon handler threads without a timeout: a stop would wait on a
    # job's call still in hand (one SIGTERM hung for minutes there).
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="control-plane", daemon=True).start()
    return server


class TimerTicks:
    """When the emitter ran, against the minute boundaries it is meant to run on."""

    def __init__(self, clock: Clock):
        self.clock, self.ticks, self.latest_lateness, self.max_lateness = clock, 0, 0.0, 0.0
        self.first: str | None = None
        self.last: str | None = None

    def observe(self, function: str, payload: Any, result: Any) -> None:
        if function != "event_emitter":
            return
        now = self.clock.now()
        lateness = (now - now.replace(second=0, microsecond=0)).total_seconds()
        self.ticks += 1
        self.latest_lateness, self.max_lateness = lateness, max(self.max_lateness, lateness)
        self.first = self.first or utc_iso(now)
        self.last = utc_iso(now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticks": self.ticks,
            "first": self.first,
            "last": self.last,
            "max_seconds_after_the_minute": round(self.max_lateness, 3),
        }


@dataclass
class Engine:
    scheduler: Scheduler
    functions: LocalFunctions
    step_functions: LocalStepFunctions
    bus: LocalEventBus
    rules: DailyRules
    endpoint: str
    server: ThreadingHTTPServer
    timer: TimerTicks

    def environment(self) -> dict[str, str]:
        """What the stack gives the functions, pointed at this machine."""
        return {
            "AWS_ENDPOINT_URL_SFN": self.endpoint,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": self.endpoint,
            "MASTER_TIMER_ARN": self.step_functions.arns["master_timer"],
            "EXECUTION_WORKFLOW_ARN": self.step_functions.arns["execution_workflow"],
        }

    def status(self) -> dict[str, Any]:
        return {
            "now": utc_iso(self.scheduler.clock.now()),
            "jobs_run": self.scheduler.jobs_run,
            "jobs_failed": self.scheduler.failed,
            "timer": self.timer.as_dict(),
            "failures": self.scheduler.failures[-20:],
            "functions": {
                name: {**stats, "recent": list(stats["recent"])}
                for name, stats in list(self.functions.stats.items())
            },
            "events_delivered": dict(self.bus.delivered),
            "events_dropped_while_busy": dict(self.bus.dropped_busy),
            "executions": [
                {
                    "state_machine": e.machine.name,
                    "name": e.name,
                    "status": e.status,
                    "transitions": e.transitions,
                }
                for e in list(self.step_functions.executions.values())[-50:]
            ],
        }

    def stop(self) -> None:
        self.server.shutdown()
        # Closed, not only shut down: a job still running would connect to a socket nobody accepts
        # on and wait out botocore's 60 s read timeout three times per call (minutes at SIGTERM).
        self.server.server_close()
        self.scheduler.close()


def _to_stderr(text: str) -> None:
    """The engine's own lines go to stderr, where the functions' logs are not."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def build_engine(
    wiring: Wiring,
    *,
    prefix: str,
    region: str,
    clock: Clock,
    stepped: bool,
    speed: float,
    calendar: TradingCalendar,
    data_dir: Path,
    log: Callable[[str], None] = _to_stderr,
) -> Engine:
    serialise_metrics()
    scheduler = Scheduler(clock, stepped=stepped, speed=speed, log=log)
    functions = LocalFunctions(wiring, data_dir / "functions.log", clock.now)
    step_functions = LocalStepFunctions(wiring, prefix, region, functions, scheduler, clock, log)
    bus = LocalEventBus(wiring, region, functions, scheduler, clock, data_dir / "alerts.jsonl", log)
    rules = DailyRules(wiring, functions, scheduler, clock, calendar, log)
    server = serve_control_plane(step_functions, bus)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    timer = TimerTicks(clock)
    functions.observers.append(timer.observe)
    return Engine(scheduler, functions, step_functions, bus, rules, endpoint, server, timer)


def session_bounds(day: date, calendar: TradingCalendar) -> tuple[datetime, datetime]:
    """A session run: from just before the daily start (09:00 IST) to just after the close."""
    session = calendar.session_on(day)
    if session is None:
        raise ValueError(
            f"{day.isoformat()} has no trading session ({calendar.holiday_name(day) or 'a weekend'})"
        )
    return datetime.combine(day, time(8, 55), IST), session.close_at() + timedelta(minutes=5)
