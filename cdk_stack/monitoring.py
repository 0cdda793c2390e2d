"""Alarms on what would make a trader miss an entry or an exit, the engine's alerts, and one dashboard."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_stack.api import Api
from cdk_stack.config import EnvironmentConfig, alert_types
from cdk_stack.functions import Functions


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: EnvironmentConfig,
        functions: Functions,
        dead_letters: sqs.IQueue,
        state_machines: dict[str, sfn.StateMachine],
        api: Api,
        bus: events.IEventBus,
    ):
        super().__init__(scope, construct_id)
        # CloudWatch cannot publish to a topic under the AWS managed SNS key (its policy cannot
        # admit cloudwatch.amazonaws.com), so the alarms get a key of their own that does.
        key = kms.Key(
            self,
            "AlarmsKey",
            description=f"{config.prefix} alarm notifications",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        self.topic = sns.Topic(
            self, "Alarms", topic_name=f"{config.prefix}-alarms", master_key=key, enforce_ssl=True
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        # What the engine raises for a person (a duplicate order) goes to the same people as the alarms.
        for name, alert in alert_types().items():
            events.Rule(
                self,
                f"{name.title().replace('_', '')}Alerts",
                event_bus=bus,
                description=f"{alert['detail_type']} events to the alarm topic",
                event_pattern=events.EventPattern(
                    source=[alert["source"]], detail_type=[alert["detail_type"]]
                ),
                targets=[targets.SnsTopic(self.topic, dead_letter_queue=dead_letters)],
            )
        self.alarms: list[cloudwatch.Alarm] = []
        five_minutes = Duration.minutes(5)
        for name, function in functions.by_name.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=five_minutes),
                f"{name} raised errors",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=five_minutes),
                f"{name} was throttled",
            )
        self._alarm(
            "UndeliveredEvents",
            dead_letters.metric_approximate_number_of_messages_visible(
                period=five_minutes, statistic="Maximum"
            ),
            "an event could not be delivered to its handler",
        )
        for name, machine in state_machines.items():
            self._alarm(
                f"{name}Failed",
                machine.metric_failed(period=five_minutes),
                f"a {name} execution failed",
            )
            self._alarm(
                f"{name}TimedOut",
                machine.metric_timed_out(period=five_minutes),
                f"a {name} execution timed out",
            )
        self._alarm(
            "Api5xx",
            api.rest_api.metric_server_error(period=five_minutes),
            "the API answered with 5xx",
        )

        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{config.prefix}-operations"
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                width=12,
                left=[
                    api.rest_api.metric_count(period=five_minutes),
                    api.rest_api.metric_client_error(period=five_minutes),
                    api.rest_api.metric_server_error(period=five_minutes),
                ],
            ),
            cloudwatch.GraphWidget(
                title="API latency (p99)",
                width=12,
                left=[
                    api.rest_api.metric_latency(period=five_minutes, statistic="p99"),
                ],
            ),
            cloudwatch.GraphWidget(
                title="Function errors",
                width=12,
                left=[
                    f.metric_errors(period=five_minutes, label=name)
                    for name, f in functions.by_name.items()
                ],
            ),
            cloudwatch.GraphWidget(
                title="Timer and execution workflows",
                width=12,
                left=[
                    metric
                    for machine in state_machines.values()
                    for metric in (
                        machine.metric_started(period=five_minutes),
                        machine.metric_failed(period=five_minutes),
                    )
                ],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", width=24, alarms=self.alarms),
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
