"""A local interpreter of the Amazon States Language, for the definitions the stack deploys
(step_functions/*.asl.json), run on the platform's simulated clock.

It covers what those definitions use, with the service's semantics: Task (lambda:invoke, with
Parameters, ResultSelector, ResultPath, OutputPath, Retry and Catch), Choice, Wait (Seconds,
SecondsPath, Timestamp, TimestampPath), Map (INLINE, ItemsPath, ItemSelector), Pass, Succeed and
Fail; JSONPath references to the input and to the context object ($$.Execution, $$.Map.Item). Map
items run at once, up to MaxConcurrency and a few threads. A
definition that uses anything else is refused when it is loaded, never half-run.

A run advances until a Wait whose time has not come; it then says when to call it again. Retries
run at once rather than after their interval: the interval is there for a service that is
momentarily unavailable, which an in-process handler is not.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

STATE_FIELDS = {
    "Task": {
        "Type",
        "Resource",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "OutputPath",
        "InputPath",
        "Retry",
        "Catch",
        "Next",
        "End",
        "TimeoutSeconds",
        "Comment",
    },
    "Choice": {"Type", "Choices", "Default", "InputPath", "OutputPath", "Comment"},
    "Wait": {
        "Type",
        "Seconds",
        "SecondsPath",
        "Timestamp",
        "TimestampPath",
        "InputPath",
        "OutputPath",
        "Next",
        "End",
        "Comment",
    },
    "Map": {
        "Type",
        "ItemsPath",
        "ItemSelector",
        "ItemProcessor",
        "MaxConcurrency",
        "ResultPath",
        "OutputPath",
        "InputPath",
        "ResultSelector",
        "Next",
        "End",
        "Retry",
        "Catch",
        "Comment",
    },
    "Pass": {
        "Type",
        "Result",
        "Parameters",
        "ResultPath",
        "OutputPath",
        "InputPath",
        "Next",
        "End",
        "Comment",
    },
    "Succeed": {"Type", "InputPath", "OutputPath", "Comment"},
    "Fail": {"Type", "Error", "Cause", "Comment"},
}
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# A Map's items at once. On Lambda each is its own function; here they share two cores and one
# moto, so more at once only makes each execution slower without the minute's batch ending
# sooner: with 20 entries due at 09:30, 8 at once took each up to 3.0 s (p99), 4 at once 1.0 s,
# and the day 263 s against 294 s (benchmarks/local_day.py).
MAP_THREADS = 4
COMPARATORS = {
    "BooleanEquals": lambda a, b: isinstance(a, bool) and a == b,
    "StringEquals": lambda a, b: isinstance(a, str) and a == b,
    "NumericEquals": lambda a, b: _number(a) and a == b,
    "NumericLessThan": lambda a, b: _number(a) and a < b,
    "NumericGreaterThan": lambda a, b: _number(a) and a > b,
    "NumericLessThanEquals": lambda a, b: _number(a) and a <= b,
    "NumericGreaterThanEquals": lambda a, b: _number(a) and a >= b,
    "IsNull": lambda a, b: (a is None) == b,
    "IsBoolean": lambda a, b: isinstance(a, bool) == b,
}
_MISSING = object()


class StatesError(Exception):
    def __init__(self, error: str, cause: str = ""):
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class StateMachine:
    def __init__(self, name: str, definition: dict[str, Any], substitutions: dict[str, str]):
        text = json.dumps(definition)
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", value)
        missing = re.search(r"\$\{[^}]*}", text)
        if missing:
            raise ValueError(f"{name}: a definition substitution has no value: {missing.group(0)}")
        self.name, self.definition = name, json.loads(text)
        _check(self.definition, name)


def _check(machine: dict[str, Any], where: str) -> None:
    states = machine["States"]
    if machine["StartAt"] not in states:
        raise ValueError(f"{where}: StartAt {machine['StartAt']} is not a state")
    for name, state in states.items():
        kind = state.get("Type")
        if kind not in STATE_FIELDS:
            raise ValueError(f"{where}.{name}: state type {kind} is not supported locally")
        unknown = set(state) - STATE_FIELDS[kind]
        if unknown:
            raise ValueError(f"{where}.{name}: {sorted(unknown)} not supported locally")
        if kind == "Task" and state["Resource"] != LAMBDA_INVOKE:
            raise ValueError(f"{where}.{name}: only {LAMBDA_INVOKE} tasks run locally")
        if kind == "Map":
            if state["ItemProcessor"].get("ProcessorConfig", {}).get("Mode", "INLINE") != "INLINE":
                raise ValueError(f"{where}.{name}: only INLINE maps run locally")
            _check(state["ItemProcessor"], f"{where}.{name}")
        for choice in state.get("Choices", []):
            _check_rule(choice, f"{where}.{name}")
        for target in [
            state.get("Next"),
            state.get("Default"),
            *[c.get("Next") for c in state.get("Choices", [])],
            *[c.get("Next") for c in state.get("Catch", [])],
        ]:
            if target is not None and target not in states:
                raise ValueError(f"{where}.{name}: Next {target} is not a state")


def _check_rule(rule: dict, where: str) -> None:
    for key in ("And", "Or"):
        for inner in rule.get(key, []):
            _check_rule(inner, where)
    if "Not" in rule:
        _check_rule(rule["Not"], where)
    if not {"And", "Or", "Not"} & set(rule) and not ({"IsPresent"} | set(COMPARATORS)) & set(rule):
        raise ValueError(
            f"{where}: a choice rule with an operator not supported locally: {sorted(rule)}"
        )


# (function name, payload) -> result; raises on failure
Invoke = Callable[[str, Any], Any]
# Told each state entered, for the execution's history.
Count = Callable[[str], None]


@dataclass
class Execution:
    """One run of a state machine."""

    machine: StateMachine
    name: str
    input: Any
    started: datetime
    invoke: Invoke
    status: str = "RUNNING"
    output: Any = None
    error: StatesError | None = None
    state: str | None = None
    data: Any = None
    transitions: int = 0
    history: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.state, self.data = self.machine.definition["StartAt"], copy.deepcopy(self.input)

    @property
    def context(self) -> dict[str, Any]:
        return {
            "Execution": {
                "Name": self.name,
                "Input": self.input,
                "StartTime": self.started.isoformat(),
            },
            "StateMachine": {"Name": self.machine.name},
        }

    def advance(self, now: datetime) -> datetime | None:
        """Run states until the end (returns None) or a Wait whose time is still to come (returns it)."""
        if self.status != "RUNNING" or self.state is None:
            return None
        try:
            target, self.state, self.data = _run(
                self.machine.definition,
                self.state,
                self.data,
                self.context,
                now,
                self.invoke,
                self._count,
                waited=self.transitions > 0,
            )
        except StatesError as error:
            self.status, self.error = "FAILED", error
            return None
        except (
            Exception
        ) as error:  # the interpreter's own failure: the run fails, never hangs RUNNING
            self.status, self.error = (
                "FAILED",
                StatesError("States.Runtime", f"{type(error).__name__}: {error}"),
            )
            return None
        if target is None:
            self.status, self.output = "SUCCEEDED", self.data
        return target

    def _count(self, state: str) -> None:
        self.transitions += 1
        self.history.append(state)


def _run(
    machine: dict,
    state_name: str,
    data: Any,
    context: dict,
    now: datetime,
    invoke: Invoke,
    count: Count,
    waited: bool = False,
) -> tuple[datetime | None, str, Any]:
    """Run from state_name; returns (wake-up time or None at the end, the state to resume at, its
    input). `waited`: state_name is a Wait whose time has come (the caller was woken for it)."""
    states = machine["States"]
    while True:
        state = states[state_name]
        kind = state["Type"]
        if not waited:
            count(state_name)
        raw = data
        effective = _path(raw, state.get("InputPath", "$"), context)
        if kind == "Wait":
            target = now if waited else _wait_until(state, effective, now, context)
            waited = False
            if target > now:
                return target, state_name, raw
            output = _path(effective, state.get("OutputPath", "$"), context)
        elif kind == "Choice":
            chosen = next(
                (c["Next"] for c in state["Choices"] if _rule(c, effective, context)),
                state.get("Default"),
            )
            if chosen is None:
                raise StatesError(
                    "States.NoChoiceMatched", f"{state_name}: no choice matched and no Default"
                )
            data, state_name = _path(effective, state.get("OutputPath", "$"), context), chosen
            continue
        elif kind == "Succeed":
            return None, state_name, _path(effective, state.get("OutputPath", "$"), context)
        elif kind == "Fail":
            raise StatesError(state.get("Error", "States.Fail"), state.get("Cause", ""))
        else:
            try:
                result = _act(state, kind, effective, context, now, invoke, count)
            except StatesError as error:
                handler = next(
                    (c for c in state.get("Catch", []) if _matches(c["ErrorEquals"], error.error)),
                    None,
                )
                if handler is None:
                    raise
                data = _put(
                    raw,
                    handler.get("ResultPath", "$"),
                    {"Error": error.error, "Cause": error.cause},
                )
                state_name = handler["Next"]
                continue
            if "ResultSelector" in state:
                result = _resolve(state["ResultSelector"], result, context)
            output = _path(
                _put(raw, state.get("ResultPath", "$"), result),
                state.get("OutputPath", "$"),
                context,
            )
        if state.get("End") or "Next" not in state:
            return None, state_name, output
        data, state_name = output, state["Next"]


def _act(
    state: dict,
    kind: str,
    effective: Any,
    context: dict,
    now: datetime,
    invoke: Invoke,
    count: Count,
) -> Any:
    if kind == "Pass":
        if "Result" in state:
            return copy.deepcopy(state["Result"])
        return (
            _resolve(state["Parameters"], effective, context)
            if "Parameters" in state
            else effective
        )
    if kind == "Task":
        parameters = _resolve(state.get("Parameters", {}), effective, context)
        attempts = {id(r): 0 for r in state.get("Retry", [])}
        while True:
            try:
                payload = invoke(parameters["FunctionName"], parameters.get("Payload", effective))
                return {"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}
            except StatesError as error:
                retry = next(
                    (r for r in state.get("Retry", []) if _matches(r["ErrorEquals"], error.error)),
                    None,
                )
                if retry is None or attempts[id(retry)] >= retry.get("MaxAttempts", 3):
                    raise
                attempts[id(retry)] += 1
    # Map: every item through the item processor, to the end (a Wait inside is not supported locally).
    items = _path(effective, state.get("ItemsPath", "$"), context)
    if not isinstance(items, list):
        raise StatesError("States.Runtime", "the ItemsPath of a Map must select a list")
    processor = state["ItemProcessor"]

    def run_item(index: int, item: Any) -> Any:
        item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
        item_input = (
            _resolve(state["ItemSelector"], effective, item_context)
            if "ItemSelector" in state
            else item
        )
        target, _, output = _run(
            processor, processor["StartAt"], item_input, item_context, now, invoke, count
        )
        if target is not None:
            raise StatesError("States.Runtime", "a Wait inside a Map item is not supported locally")
        return output

    # Items at once, up to MaxConcurrency (0 means no limit; a few threads do here).
    workers = max(1, min(state.get("MaxConcurrency") or MAP_THREADS, MAP_THREADS, len(items) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="map") as pool:
        return list(pool.map(run_item, range(len(items)), items))


def _wait_until(state: dict, effective: Any, now: datetime, context: dict) -> datetime:
    if "Seconds" in state:
        return now + timedelta(seconds=state["Seconds"])
    if "SecondsPath" in state:
        return now + timedelta(seconds=_path(effective, state["SecondsPath"], context))
    text = (
        state["Timestamp"]
        if "Timestamp" in state
        else _path(effective, state["TimestampPath"], context)
    )
    if not isinstance(text, str):
        raise StatesError("States.Runtime", f"the Wait's timestamp {text!r} is not a string")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise StatesError(
            "States.Runtime", f"the Wait's timestamp {text!r} is not ISO-8601"
        ) from None
    if moment.tzinfo is None:
        raise StatesError("States.Runtime", f"the Wait's timestamp {text!r} has no offset")
    return moment


def _matches(errors: list[str], error: str) -> bool:
    return (
        "States.ALL" in errors
        or error in errors
        or ("States.TaskFailed" in errors and error != "States.Timeout")
    )


def _rule(rule: dict, data: Any, context: dict) -> bool:
    if "And" in rule:
        return all(_rule(r, data, context) for r in rule["And"])
    if "Or" in rule:
        return any(_rule(r, data, context) for r in rule["Or"])
    if "Not" in rule:
        return not _rule(rule["Not"], data, context)
    value = _lookup(data, rule["Variable"], context)
    if "IsPresent" in rule:
        return (value is not _MISSING) == bool(rule["IsPresent"])
    (comparator,) = [k for k in rule if k in COMPARATORS]
    if value is _MISSING:
        return False
    matched: bool = COMPARATORS[comparator](value, rule[comparator])
    return matched


def _resolve(template: Any, data: Any, context: dict) -> Any:
    if isinstance(template, dict):
        resolved = {}
        for key, value in template.items():
            if key.endswith(".$"):
                resolved[key[:-2]] = _path(data, value, context)
            else:
                resolved[key] = _resolve(value, data, context)
        return resolved
    if isinstance(template, list):
        return [_resolve(value, data, context) for value in template]
    return template


def _lookup(data: Any, path: str, context: dict) -> Any:
    if path.startswith("$$"):
        data, path = context, path[1:]
    if path == "$":
        return data
    if not path.startswith("$."):
        raise StatesError("States.Runtime", f"unsupported path {path}")
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path[2:]):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(data, list) or index >= len(data):
                return _MISSING
            data = data[index]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return _MISSING
    return data


def _path(data: Any, path: str | None, context: dict) -> Any:
    if path is None:
        return {}
    value = _lookup(data, path, context)
    if value is _MISSING:
        raise StatesError("States.Runtime", f"the path {path} selects nothing")
    return value


def _put(raw: Any, path: str | None, result: Any) -> Any:
    if path is None:
        return raw
    if path == "$":
        return result
    target = copy.deepcopy(raw) if isinstance(raw, dict) else {}
    node = target
    parts = path[2:].split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = result
    return target
