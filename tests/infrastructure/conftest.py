"""Synthesize every environment once (bundling skipped: the layer's pip run is tested on its own)."""

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cloud_assembly(tmp_path_factory):
    from aws_cdk import App

    import app as entry

    outdir = tmp_path_factory.mktemp("cdk.out")
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), context={**context, "aws:cdk:bundling-stacks": []})
    stacks = entry.build(app)
    app.synth()  # raises if cdk-nag reports an unacknowledged error
    return outdir, {
        stack.node.try_get_context("env") or name: stack
        for name, stack in zip(("dev", "staging", "prod"), stacks, strict=False)
    }


@pytest.fixture(scope="session")
def templates(cloud_assembly):
    from aws_cdk.assertions import Template

    outdir, _ = cloud_assembly
    return {
        env: Template.from_json(
            json.loads(
                (outdir / f"ql-algo-trading-{env}-options-trading-stack.template.json").read_text()
            )
        )
        for env in ("dev", "staging", "prod")
    }


@pytest.fixture(scope="session")
def dev(templates):
    return templates["dev"]


def resources(template, resource_type: str) -> dict:
    return template.find_resources(resource_type)
