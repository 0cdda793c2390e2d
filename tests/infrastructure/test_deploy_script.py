"""deploy.sh fails fast, with a message that says what to do, before anything slow runs."""
import os
import subprocess

import pytest

from tests.infrastructure.conftest import ROOT


def deploy(*arguments):
    return subprocess.run(["./deploy.sh", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})


@pytest.mark.parametrize("arguments,message", [
    ((), "say which environment"),
    (("-e", "qa"), "unknown environment 'qa'"),
])
def test_a_missing_or_unknown_environment_is_refused(arguments, message):
    result = deploy(*arguments)
    assert result.returncode == 2 and message in result.stderr


def test_an_aws_environment_is_refused_while_wired_handlers_are_missing():
    result = deploy("-e", "dev")
    assert result.returncode == 2
    assert "not built yet" in result.stderr and "check_stop_loss" in result.stderr
