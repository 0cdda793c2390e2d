"""What each function reads from its environment, as typed models checked at cold start.

The stack (cdk_stack/stack.py) and the local platform (local_platform/__main__.py and engine.py)
set these variables; `wiring.json`'s `uses` says which resources a function reaches, and each
resource comes with the variable that names it. A handler never reads `os.environ` itself: the
composition root reads the model it needs when it first builds a collaborator (and a handler with
a resource of its own, its function's model, on each invocation), so a missing or malformed
variable fails the first invocation with a message naming it, not a KeyError deep in a handler.

The building blocks are one model per concern; a function's model is the blocks it needs, and
`FUNCTION_ENVIRONMENTS` names it for every wired function (tests check it against wiring.json and
against the variables the synthesized stack gives each function).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from shared_utils.domain.clock import Clock, SimulatedClock, SteppedClock, SystemClock


def _empty_means(default: Any) -> BeforeValidator:
    """An empty variable is an unset one, as `os.environ.get(name) or default` always read it."""
    return BeforeValidator(lambda value: default if value in ("", None) else value)


Text = Annotated[str, Field(min_length=1)]


class EnvironmentModel(BaseModel):
    """Variables by their names (the aliases); every other variable of the process is ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Why the stack sets each variable, for the error that says one is missing.
    REASONS: ClassVar[dict[str, str]] = {}


class EnvironmentInvalid(RuntimeError):
    """A function's environment misses a variable or has one it cannot read."""

    def __init__(self, model: type[EnvironmentModel], invalid: ValidationError):
        reasons: dict[str, str] = {}
        for klass in reversed(model.__mro__):
            reasons.update(getattr(klass, "REASONS", {}))
        problems = []
        for problem in invalid.errors():
            variable = str(problem["loc"][0]) if problem["loc"] else model.__name__
            if problem["type"] == "missing":
                problems.append(f"{variable} is not set: {reasons.get(variable, 'it is required')}")
            else:
                problems.append(
                    f"{variable}={problem.get('input')!r} cannot be read: {problem['msg']}"
                )
        super().__init__(f"{model.__name__}: " + "; ".join(problems))
        self.problems = problems


class ClockEnvironment(EnvironmentModel):
    """The platform's clock. The local platform sets PLATFORM_CLOCK_START/SPEED/ANCHOR (or
    PLATFORM_CLOCK_MODE=stepped for a session run as fast as possible); in AWS none is set and the
    clock is the system's."""

    clock_mode: Annotated[
        Literal["stepped"] | None,
        _empty_means(None),
        Field(alias="PLATFORM_CLOCK_MODE"),
    ] = None
    clock_start: Annotated[
        AwareDatetime | None, _empty_means(None), Field(alias="PLATFORM_CLOCK_START")
    ] = None
    clock_speed: Annotated[float, _empty_means(1.0), Field(gt=0, alias="PLATFORM_CLOCK_SPEED")] = (
        1.0
    )
    clock_anchor: Annotated[
        float | None, _empty_means(None), Field(alias="PLATFORM_CLOCK_ANCHOR")
    ] = None

    def clock(self) -> Clock:
        if self.clock_mode == "stepped":
            return SteppedClock()
        if self.clock_start is None:
            return SystemClock()
        return SimulatedClock(self.clock_start, self.clock_speed, self.clock_anchor)


class CorsEnvironment(EnvironmentModel):
    """The browser origin the API answers; any origin unless the stack narrows it."""

    cors_allow_origin: Annotated[str, _empty_means("*"), Field(alias="CORS_ALLOW_ORIGIN")] = "*"


class TableEnvironment(EnvironmentModel):
    REASONS: ClassVar[dict[str, str]] = {
        "TABLE_NAME": "the stack gives every table-using function its table's name"
    }
    table_name: Annotated[Text, Field(alias="TABLE_NAME")]


class EventBusEnvironment(EnvironmentModel):
    REASONS: ClassVar[dict[str, str]] = {
        "EVENT_BUS_NAME": "the stack gives every function the name of the platform's event bus"
    }
    event_bus_name: Annotated[Text, Field(alias="EVENT_BUS_NAME")]


class MasterTimerEnvironment(EnvironmentModel):
    REASONS: ClassVar[dict[str, str]] = {
        "MASTER_TIMER_ARN": "the stack gives the timer starter the master timer state machine's ARN"
    }
    master_timer_arn: Annotated[Text, Field(alias="MASTER_TIMER_ARN")]


class ExecutionWorkflowEnvironment(EnvironmentModel):
    REASONS: ClassVar[dict[str, str]] = {
        "EXECUTION_WORKFLOW_ARN": (
            "the stack gives the schedule trigger the execution workflow state machine's ARN"
        )
    }
    execution_workflow_arn: Annotated[Text, Field(alias="EXECUTION_WORKFLOW_ARN")]


# One model per function: the blocks it reads.


class ConfigurationApiEnvironment(CorsEnvironment, TableEnvironment, ClockEnvironment):
    """The API functions over the trader's configuration and executions."""


class MarketReferenceApiEnvironment(CorsEnvironment, ClockEnvironment):
    """Market reference data comes from the built-in catalog and calendar: no table."""


class ApiDocsEnvironment(CorsEnvironment):
    """The OpenAPI document reads nothing but the origin it answers."""


class TimerStarterEnvironment(MasterTimerEnvironment, ClockEnvironment):
    pass


class EventEmitterEnvironment(EventBusEnvironment, ClockEnvironment):
    pass


class ScheduleTriggerEnvironment(
    TableEnvironment, ExecutionWorkflowEnvironment, EventBusEnvironment, ClockEnvironment
):
    """The schedule trigger also puts "Execution Missed" alerts on the bus."""


class EngineEnvironment(TableEnvironment, ClockEnvironment):
    """The engine's functions that read and write the table only."""


class ReconciliationEnvironment(TableEnvironment, EventBusEnvironment, ClockEnvironment):
    """Order reconciliation also puts alerts on the bus."""


FUNCTION_ENVIRONMENTS: dict[str, type[EnvironmentModel]] = {
    "basket_manager": ConfigurationApiEnvironment,
    "strategy_manager": ConfigurationApiEnvironment,
    "strategy_broker_allocator": ConfigurationApiEnvironment,
    "broker_account_manager": ConfigurationApiEnvironment,
    "execution_api": ConfigurationApiEnvironment,
    "market_reference_api": MarketReferenceApiEnvironment,
    "api_docs": ApiDocsEnvironment,
    "timer_starter": TimerStarterEnvironment,
    "event_emitter": EventEmitterEnvironment,
    "schedule_strategy_trigger": ScheduleTriggerEnvironment,
    "check_stop_loss": EngineEnvironment,
    "check_duplicate_orders": ReconciliationEnvironment,
    "refresh_market_data": EngineEnvironment,
    "strategy_executor": EngineEnvironment,
}

# The variable that names each resource a function `uses` in wiring.json.
USES: dict[str, type[EnvironmentModel]] = {
    "table": TableEnvironment,
    "event_bus": EventBusEnvironment,
    "master_timer": MasterTimerEnvironment,
    "execution_workflow": ExecutionWorkflowEnvironment,
}

E = TypeVar("E", bound=EnvironmentModel)


def read(model: type[E], environ: Mapping[str, str] | None = None) -> E:
    """The model read from the process environment (or `environ`), or EnvironmentInvalid naming
    every variable that is missing or malformed."""
    try:
        return model.model_validate(dict(os.environ if environ is None else environ))
    except ValidationError as invalid:
        raise EnvironmentInvalid(model, invalid) from None


def clock_from_environment(environ: Mapping[str, str] | None = None) -> Clock:
    """The platform's clock as the environment sets it (see ClockEnvironment)."""
    return read(ClockEnvironment, environ).clock()


def required_variables(model: type[EnvironmentModel]) -> set[str]:
    """The variables a function cannot run without (the others have defaults)."""
    return {
        field.alias or name for name, field in model.model_fields.items() if field.is_required()
    }


def check_functions(functions: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
    """Every named function's environment read once, so a runtime that hosts them all (the local
    platform) refuses to start rather than fail a function's first invocation."""
    for function in functions:
        read(FUNCTION_ENVIRONMENTS[function], environ)
