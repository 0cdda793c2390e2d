#!/usr/bin/env python3
"""CDK entry: one stack per environment (all of them, or `-c env=dev`). Makes no AWS calls."""

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from cdk_stack.config import ENVIRONMENTS, EnvironmentConfig
from cdk_stack.stack import OptionsTradingStack


def build(app: App) -> list[OptionsTradingStack]:
    chosen = app.node.try_get_context("env")
    names = [chosen] if chosen else list(ENVIRONMENTS)
    environments = app.node.try_get_context("environments") or {}
    stacks = [
        OptionsTradingStack(app, EnvironmentConfig.from_context(environments, name))
        for name in names
    ]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
