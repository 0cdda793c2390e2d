"""docs/api-reference.md is what scripts/api-reference writes from the OpenAPI document now, so
the reference a trader writes requests from cannot drift from the API."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_api_reference_is_what_the_script_generates_now():
    result = subprocess.run(
        [sys.executable, "scripts/api-reference", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        "docs/api-reference.md differs from what the API documents now: run"
        f" `.venv/bin/python scripts/api-reference` and commit the result.\n{result.stderr}"
    )


def test_the_reference_documents_every_field_of_the_bodies_a_trader_sends():
    text = (ROOT / "docs" / "api-reference.md").read_text(encoding="utf-8")
    for section in (
        "### BasketCreate",
        "### StrategyCreate",
        "### LegInput",
        "### StrikeSelection",
        "### PositionSizing",
        "### AllocationInput",
        "### AllocationConfig",
        "### LegOverride",
        "### RiskLimits",
        "### ExecutionConfig",
        "### BrokerAccountCreate",
        "### ManualExecution",
        "## Worked example: the Iron Condor on NIFTY",
    ):
        assert section in text, f"docs/api-reference.md has no {section!r}"
