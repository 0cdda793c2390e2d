"""Each function's environment: a typed model per function, checked against the wiring table and
read with a message that names a missing or malformed variable."""

from datetime import UTC, datetime

import pytest

from lambda_functions.environment import (
    FUNCTION_ENVIRONMENTS,
    USES,
    ClockEnvironment,
    EnvironmentInvalid,
    ReconciliationEnvironment,
    ScheduleTriggerEnvironment,
    TableEnvironment,
    check_functions,
    clock_from_environment,
    read,
    required_variables,
)
from local_platform.wiring import load
from shared_utils.domain.clock import SimulatedClock, SteppedClock, SystemClock


def test_every_wired_function_has_an_environment_model():
    assert set(FUNCTION_ENVIRONMENTS) == set(load().functions)


@pytest.mark.parametrize("function", sorted(load().functions))
def test_a_functions_model_reads_exactly_the_resources_it_uses(function):
    model = FUNCTION_ENVIRONMENTS[function]
    uses = set(load().functions[function].get("uses", []))
    assert {resource for resource, block in USES.items() if issubclass(model, block)} == uses


def test_a_missing_variable_is_named_with_the_reason_the_stack_sets_it():
    with pytest.raises(EnvironmentInvalid) as raised:
        read(TableEnvironment, {})
    assert str(raised.value) == (
        "TableEnvironment: TABLE_NAME is not set: "
        "the stack gives every table-using function its table's name"
    )


def test_every_problem_is_named_at_once():
    with pytest.raises(EnvironmentInvalid) as raised:
        read(ScheduleTriggerEnvironment, {"TABLE_NAME": "t", "PLATFORM_CLOCK_SPEED": "fast"})
    message = str(raised.value)
    assert "EXECUTION_WORKFLOW_ARN is not set" in message
    assert "PLATFORM_CLOCK_SPEED='fast' cannot be read" in message


def test_an_empty_variable_is_unset_and_an_empty_required_one_is_refused():
    assert read(ClockEnvironment, {"PLATFORM_CLOCK_START": "", "PLATFORM_CLOCK_SPEED": ""}) == (
        ClockEnvironment()
    )
    with pytest.raises(EnvironmentInvalid, match="TABLE_NAME=''"):
        read(TableEnvironment, {"TABLE_NAME": ""})


def test_a_clock_start_needs_its_offset():
    with pytest.raises(EnvironmentInvalid, match="PLATFORM_CLOCK_START"):
        clock_from_environment({"PLATFORM_CLOCK_START": "2026-03-02T09:25:00"})


def test_the_environment_chooses_the_clock():
    assert isinstance(clock_from_environment({}), SystemClock)
    assert isinstance(clock_from_environment({"PLATFORM_CLOCK_MODE": "stepped"}), SteppedClock)
    clock = clock_from_environment(
        {
            "PLATFORM_CLOCK_START": "2026-03-02T09:25:00+05:30",
            "PLATFORM_CLOCK_SPEED": "2",
            "PLATFORM_CLOCK_ANCHOR": "1772423700.5",
        }
    )
    assert isinstance(clock, SimulatedClock)
    assert (clock.start, clock.speed, clock.anchor) == (
        datetime(2026, 3, 2, 3, 55, tzinfo=UTC),
        2,
        1772423700.5,
    )


def test_what_the_local_platform_gives_every_function_satisfies_its_model():
    # local_platform/__main__.py sets these (and AWS endpoints and credentials) before it starts.
    environ = {
        "TABLE_NAME": "options-local-trading-configurations",
        "EVENT_BUS_NAME": "options-local-events",
        "MASTER_TIMER_ARN": "arn:aws:states:ap-south-1:000000000000:stateMachine:master-timer",
        "EXECUTION_WORKFLOW_ARN": "arn:aws:states:ap-south-1:000000000000:stateMachine:workflow",
        "PLATFORM_CLOCK_MODE": "stepped",
    }
    check_functions(load().functions, environ)
    with pytest.raises(EnvironmentInvalid, match="EVENT_BUS_NAME is not set"):
        check_functions(["check_duplicate_orders"], {"TABLE_NAME": "t"})


def test_reconciliation_needs_the_table_and_the_bus():
    assert required_variables(ReconciliationEnvironment) == {"TABLE_NAME", "EVENT_BUS_NAME"}
