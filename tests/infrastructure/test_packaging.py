"""The Lambda packages are built without Docker: the handler asset and the pip-built layer."""

import json
import os
import subprocess
from pathlib import Path

from tests.infrastructure.conftest import ROOT


def test_the_handler_asset_holds_only_the_handlers_and_the_domain(cloud_assembly):
    outdir, _ = cloud_assembly
    code_dirs = [
        p for p in outdir.glob("asset.*") if p.is_dir() and (p / "lambda_functions").exists()
    ]
    assert len(code_dirs) == 1
    assert sorted(p.name for p in code_dirs[0].iterdir()) == ["lambda_functions", "shared_utils"]
    assert (code_dirs[0] / "shared_utils" / "data" / "instruments.json").exists()
    assert not list(code_dirs[0].rglob("__pycache__"))


def test_the_layer_is_built_for_the_lambda_platform_without_the_aws_sdk(tmp_path):
    from cdk_stack.layer import PipForLambda

    assert PipForLambda().try_bundle(str(tmp_path), image=None) is True
    site = tmp_path / "python"
    names = {p.name for p in site.iterdir()}
    assert {
        "aws_lambda_powertools",
        "pydantic",
        "pydantic_core",
        "aws_xray_sdk",
        "lets_be_rational",
        "numpy",
    } <= names
    assert not names & {"boto3", "botocore", "s3transfer"}
    (extension,) = (site / "pydantic_core").glob("_pydantic_core*.so")
    assert "cpython-314-x86_64-linux-gnu" in extension.name


def test_the_cdk_cli_synthesizes_every_environment(tmp_path):
    """What an operator runs: the pinned CLI from the npm registry, `npx cdk synth`, real bundling."""
    environment = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--all", "--quiet", "-o", str(tmp_path)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    stacks = {
        name
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert stacks == {
        f"ql-algo-trading-{env}-options-trading-stack" for env in ("dev", "staging", "prod")
    }
    layer = [p for p in Path(tmp_path).glob("asset.*") if (p / "python" / "pydantic").exists()]
    assert len(layer) == 1
