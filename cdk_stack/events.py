"""The custom event bus and the four rules of the spec, each to its handler, with a dead-letter queue."""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_stack.config import EnvironmentConfig, event_types, wiring
from cdk_stack.functions import Functions
from cdk_stack.nag import acknowledge


class ExecutionEvents(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, config: EnvironmentConfig, functions: Functions
    ):
        super().__init__(scope, construct_id)
        spec = wiring()["events"]
        self.bus = events.EventBus(
            self, "Bus", event_bus_name=f"{config.prefix}-{spec['bus_name']}"
        )
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=f"{config.prefix}-undelivered-events",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "this queue is itself the dead-letter queue of the event rules; its depth raises an alarm",
        )
        self.rules: dict[str, events.Rule] = {}
        for rule in spec["rules"]:
            event = event_types()[rule["event"]]
            self.rules[rule["name"]] = events.Rule(
                self,
                rule["name"],
                event_bus=self.bus,
                description=f"{event['detail_type']} events to {rule['target']}",
                event_pattern=events.EventPattern(
                    source=[event["source"]], detail_type=[event["detail_type"]]
                ),
                targets=[
                    targets.LambdaFunction(
                        functions[rule["target"]],
                        dead_letter_queue=self.dead_letters,
                        retry_attempts=2,
                        # A minute-tick event is worthless a minute later: the next tick replaces it.
                        max_event_age=Duration.seconds(90),
                    )
                ],
            )
