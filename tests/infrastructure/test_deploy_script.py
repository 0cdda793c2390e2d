"""deploy.sh fails fast, with a message that says what to do, before anything slow runs."""

import os
import subprocess

import pytest

from tests.infrastructure.conftest import ROOT


def deploy(*arguments):
    return subprocess.run(
        ["./deploy.sh", *arguments],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "say which environment"),
        (("-e", "qa"), "unknown environment 'qa'"),
    ],
)
def test_a_missing_or_unknown_environment_is_refused(arguments, message):
    result = deploy(*arguments)
    assert result.returncode == 2
    assert message in result.stderr


def test_an_aws_environment_without_credentials_is_refused_before_anything_slow_runs():
    result = deploy("-e", "dev")
    assert result.returncode == 2
    assert "no AWS credentials" in result.stderr
    assert "deploying" not in result.stderr
