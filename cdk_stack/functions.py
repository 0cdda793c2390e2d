"""One Lambda function per entry of the wiring table, each with its own log group and role."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_stack.config import EnvironmentConfig, wiring
from cdk_stack.layer import RUNTIME, dependencies_layer, handler_code
from cdk_stack.nag import acknowledge

RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
}


def log_group(scope: Construct, construct_id: str, config: EnvironmentConfig) -> logs.LogGroup:
    """Retention by environment (7/30/90 days); kept with the data outside dev."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=RETENTION[config.log_retention_days],
        removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
    )


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: EnvironmentConfig,
        environment: dict[str, str],
    ):
        super().__init__(scope, construct_id)
        self.by_name: dict[str, lambda_.Function] = {}
        layer = dependencies_layer(self, "Dependencies")
        code = handler_code()
        for name, spec in wiring()["functions"].items():
            logs_of_function = log_group(self, f"{_camel(name)}Logs", config)
            role = iam.Role(
                self,
                f"{_camel(name)}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"{name}: its log group, and what wiring.json says it uses",
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[logs_of_function.log_group_arn],
                )
            )
            function = lambda_.Function(
                self,
                _camel(name),
                function_name=f"{config.prefix}-{name.replace('_', '-')}",
                description=spec["description"][:256],
                runtime=RUNTIME,
                architecture=lambda_.Architecture.X86_64,
                handler=spec["handler"],
                code=code,
                layers=[layer],
                memory_size=config.lambda_memory_mb,
                timeout=Duration.seconds(config.lambda_timeout_seconds),
                tracing=lambda_.Tracing.ACTIVE,
                log_group=logs_of_function,
                role=role,
                environment={
                    **environment,
                    "POWERTOOLS_SERVICE_NAME": name,
                    "POWERTOOLS_METRICS_NAMESPACE": "OptionsStrategyPlatform",
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                    "PLATFORM_ENVIRONMENT": config.name,
                },
            )
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions (active tracing)",
            )
            self.by_name[name] = function

    def grant_uses(self, grants: dict[str, Callable[[lambda_.IFunction], object]]) -> None:
        """Give each function exactly what its `uses` names."""
        for name, spec in wiring()["functions"].items():
            for resource in spec.get("uses", []):
                grants[resource](self.by_name[name])

    def __getitem__(self, name: str) -> lambda_.Function:
        return self.by_name[name]


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
