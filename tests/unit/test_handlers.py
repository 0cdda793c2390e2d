"""The handlers' shape, checked: they read their environment only through the typed models, and
make no Logger, Tracer or Metrics of their own (lambda_functions/observability.py makes them)."""

import ast
from pathlib import Path

import pytest

LAMBDA_FUNCTIONS = Path(__file__).resolve().parents[2] / "lambda_functions"
POWERTOOLS_PREAMBLE = {"Logger", "Tracer", "Metrics"}


def _modules(*but: str) -> list[str]:
    return sorted(p.name for p in LAMBDA_FUNCTIONS.glob("*.py") if p.name not in but)


def _tree(module: str) -> ast.Module:
    return ast.parse((LAMBDA_FUNCTIONS / module).read_text(encoding="utf-8"))


@pytest.mark.parametrize("module", _modules("environment.py"))
def test_no_handler_reads_os_environ_itself(module):
    raw = [
        node.lineno
        for node in ast.walk(_tree(module))
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}
    ]
    assert not raw, f"{module} reads the environment raw on lines {raw}"


@pytest.mark.parametrize("module", _modules("observability.py"))
def test_only_the_observability_module_makes_loggers_tracers_and_metrics(module):
    made = [
        node.func.id
        for node in ast.walk(_tree(module))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in POWERTOOLS_PREAMBLE
    ]
    assert not made, f"{module} makes its own {made}"
