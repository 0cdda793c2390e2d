"""The functions' third-party dependencies as a layer built without Docker.

CDK's local bundling runs pip on this machine for the Lambda platform (manylinux2014 and
manylinux_2_28 x86_64, the runtime's Python, binary wheels only), from the same requirements.txt the
tests run against.
The AWS SDK is left out: the Lambda runtime provides it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk_stack.config import ROOT

PYTHON_VERSION = "3.14"
RUNTIME = lambda_.Runtime.PYTHON_3_14
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")
# CDK's "*" does not match dotfiles (.venv, .git, .hypothesis): left in, they would ship and make the
# asset hash change with every test run.
HIDDEN = (".*", "**/.*")


@jsii.implements(ILocalBundling)
class PipForLambda:
    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: object) -> bool:
        target = Path(output_dir) / "python"
        subprocess.run(  # noqa: S603 - this interpreter's pip, with the repository's requirements
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                # The runtime is Amazon Linux 2023 (glibc 2.34): manylinux2014 wheels and the newer
                # manylinux_2_28 ones (numpy's only wheels for 3.14) both run on it.
                "--platform",
                "manylinux2014_x86_64",
                "--platform",
                "manylinux_2_28_x86_64",
                "--implementation",
                "cp",
                "--python-version",
                PYTHON_VERSION,
                "--only-binary=:all:",
                "-r",
                str(ROOT / "requirements.txt"),
            ],
            check=True,
        )
        for package in target.iterdir():
            if package.name.split("-")[0] in PROVIDED_BY_RUNTIME:
                shutil.rmtree(package) if package.is_dir() else package.unlink()
        return True


def dependencies_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    return lambda_.LayerVersion(
        scope,
        construct_id,
        description="Powertools, pydantic and their dependencies, pinned by requirements.txt",
        compatible_runtimes=[RUNTIME],
        code=lambda_.Code.from_asset(
            str(ROOT),
            exclude=["*", "!requirements.txt", *HIDDEN],
            asset_hash_type=AssetHashType.SOURCE,
            bundling=BundlingOptions(
                # Only used if local bundling is impossible; local bundling always succeeds or raises.
                image=DockerImage.from_registry(f"public.ecr.aws/sam/build-python{PYTHON_VERSION}"),
                local=PipForLambda(),
            ),
        ),
    )


def handler_code() -> lambda_.Code:
    """The handlers and the domain, as a plain asset: no build step."""
    return lambda_.Code.from_asset(
        str(ROOT),
        exclude=[
            "*",
            "!lambda_functions",
            "!lambda_functions/**",
            "!shared_utils",
            "!shared_utils/**",
            "**/__pycache__",
            "**/__pycache__/**",
            "**/*.pyc",
            *HIDDEN,
        ],
    )
