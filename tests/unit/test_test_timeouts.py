"""The suite's timeouts agree with each other: pytest-timeout cuts a test only after every
subprocess timeout the test gives has passed, and it cuts it by raising inside the test (the
`signal` method), so the test's teardown stops the platforms it started."""

import ast
import configparser
from pathlib import Path

import pytest

from tests.e2e import conftest as e2e

ROOT = Path(__file__).resolve().parents[2]
E2E_MODULES = sorted((ROOT / "tests" / "e2e").glob("test_*.py"))


def pytest_ini() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "pytest.ini")
    return parser["pytest"]


def test_a_timeout_raises_in_the_test_so_its_teardown_runs():
    assert pytest_ini()["timeout_method"] == "signal"


def test_the_default_timeout_is_above_one_platform_start_and_stop_and_a_request():
    assert float(pytest_ini()["timeout"]) > (
        e2e.START_TIMEOUT + e2e.STOP_TIMEOUT + e2e.HTTP_TIMEOUT
    )


def test_a_budget_is_above_the_subprocess_timeouts_it_counts():
    assert e2e.e2e_budget(starts=2, sessions=3) > 2 * (e2e.START_TIMEOUT + e2e.STOP_TIMEOUT) + 3 * (
        e2e.SESSION_TIMEOUT + e2e.STOP_TIMEOUT
    )
    assert e2e.e2e_budget(starts=0, requests_=1) > e2e.HTTP_TIMEOUT


def _module_timeout(module: Path) -> ast.Call | None:
    """The `pytest.mark.timeout(...)` call in the module's `pytestmark`, if it has one."""
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            for call in ast.walk(node.value):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "timeout"
                ):
                    return call
    return None


@pytest.mark.parametrize("module", E2E_MODULES, ids=lambda m: m.name)
def test_an_end_to_end_module_that_sets_its_own_ceiling_counts_what_it_starts(module):
    """A module that runs sessions, or sets a ceiling of its own, sets it with `e2e_budget` and
    counts the sessions, so the ceiling moves with the step timeouts instead of drifting away
    from them. (A module without one has pytest.ini's, above one start, stop and request.)"""
    text = module.read_text()
    call = _module_timeout(module)
    if call is None:
        assert "Session(" not in text, f"{module.name} runs sessions without a ceiling for them"
        return
    (argument,) = call.args
    assert isinstance(argument, ast.Call), f"{module.name}: the timeout is not e2e_budget(...)"
    assert isinstance(argument.func, ast.Name), module.name
    assert argument.func.id == "e2e_budget", module.name
    counted = {k.arg: ast.literal_eval(k.value) for k in argument.keywords}
    if "Session(" in text:
        assert counted.get("sessions", 0) >= 1, f"{module.name} runs sessions it does not count"
