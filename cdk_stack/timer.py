"""The master timer (Standard), its daily start, and the Express execution workflow."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_stack.config import ROOT, EnvironmentConfig, wiring
from cdk_stack.functions import Functions, log_group
from cdk_stack.nag import acknowledge


class Timing(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: EnvironmentConfig,
        functions: Functions,
        dead_letters: sqs.IQueue,
    ):
        super().__init__(scope, construct_id)
        self.state_machines: dict[str, sfn.StateMachine] = {}
        for name, spec in wiring()["state_machines"].items():
            machine_logs = log_group(self, f"{name}Logs", config)
            invoked = {
                placeholder: functions[function]
                for placeholder, function in spec["invokes"].items()
            }
            machine = sfn.StateMachine(
                self,
                name,
                state_machine_name=f"{config.prefix}-{name.replace('_', '-')}",
                state_machine_type=sfn.StateMachineType[spec["type"]],
                definition_body=sfn.DefinitionBody.from_file(str(ROOT / spec["definition"])),
                definition_substitutions={
                    placeholder: f.function_arn for placeholder, f in invoked.items()
                },
                logs=sfn.LogOptions(
                    destination=machine_logs, level=sfn.LogLevel.ALL, include_execution_data=True
                ),
                tracing_enabled=True,
            )
            for function in invoked.values():
                function.grant_invoke(machine)
            acknowledge(
                machine.role,
                "AwsSolutions-IAM5[Resource::*]",
                "CloudWatch Logs delivery and X-Ray actions of a state machine have no resource-level permissions",
            )
            for function_name in spec["invokes"].values():
                acknowledge(
                    machine.role,
                    f"AwsSolutions-IAM5[Resource::<{_logical_ref(functions[function_name])}.Arn>:*]",
                    f"invoking {function_name} by any of its versions or aliases; the function itself is named",
                )
            self.state_machines[name] = machine

        for name, spec in wiring()["schedules"].items():
            cron = spec["cron_utc"]
            events.Rule(
                self,
                name,
                description=spec["description"],
                schedule=events.Schedule.cron(
                    minute=cron["minute"], hour=cron["hour"], week_day=cron["week_day"]
                ),
                targets=[
                    targets.LambdaFunction(
                        functions[spec["target"]],
                        dead_letter_queue=dead_letters,
                        retry_attempts=4,
                        max_event_age=Duration.minutes(30),
                    )
                ],
            )

    def __getitem__(self, name: str) -> sfn.StateMachine:
        return self.state_machines[name]


def _logical_ref(construct: Construct) -> str:
    from aws_cdk import CfnElement, Stack

    resource = construct.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource of its own")
    return Stack.of(construct).get_logical_id(resource)
