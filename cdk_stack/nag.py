"""Acknowledging a cdk-nag finding: always the rule, the resource it is on, and why."""

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(resource: IConstruct, rule: str, reason: str) -> None:
    if len(reason) < 20:
        raise ValueError(f"{rule} on {resource.node.path}: give a real reason")
    Validations.of(resource).acknowledge(Acknowledgment(id=rule, reason=reason))
