"""ql-algo-trading-{env}-options-trading-stack: assembled from one construct per concern."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import Environment as AwsEnvironment
from constructs import Construct

from cdk_stack.api import Api
from cdk_stack.auth import Authentication
from cdk_stack.config import EnvironmentConfig
from cdk_stack.data import TradingData
from cdk_stack.events import ExecutionEvents
from cdk_stack.functions import Functions
from cdk_stack.monitoring import Monitoring
from cdk_stack.timer import Timing


class OptionsTradingStack(Stack):
    def __init__(self, scope: Construct, config: EnvironmentConfig):
        super().__init__(
            scope,
            config.stack_name,
            stack_name=config.stack_name,
            description=f"Options Strategy Platform ({config.name})",
            env=AwsEnvironment(account=config.account, region=config.region)
            if config.account
            else None,
            termination_protection=config.retain_data,
        )
        data = TradingData(self, "Data", config)
        auth = Authentication(self, "Auth", config)
        functions = Functions(self, "Functions", config, {"TABLE_NAME": data.table.table_name})
        execution = ExecutionEvents(self, "Execution", config, functions)
        timing = Timing(self, "Timing", config, functions, execution.dead_letters)
        for function in functions.by_name.values():
            function.add_environment("EVENT_BUS_NAME", execution.bus.event_bus_name)
        functions["timer_starter"].add_environment(
            "MASTER_TIMER_ARN", timing["master_timer"].state_machine_arn
        )
        functions["schedule_strategy_trigger"].add_environment(
            "EXECUTION_WORKFLOW_ARN", timing["execution_workflow"].state_machine_arn
        )
        functions.grant_uses(
            {
                "table": data.grant_items,
                "event_bus": execution.bus.grant_put_events_to,
                "master_timer": timing["master_timer"].grant_start_execution,
                "execution_workflow": timing["execution_workflow"].grant_start_execution,
            }
        )
        api = Api(self, "Api", config, functions, auth.user_pool)
        Monitoring(
            self,
            "Monitoring",
            config,
            functions,
            execution.dead_letters,
            timing.state_machines,
            api,
            execution.bus,
        )

        # The same keys as the local platform's outputs.json, so one end-to-end suite runs against either.
        CfnOutput(self, "ApiUrl", value=api.url)
        CfnOutput(self, "UserPoolId", value=auth.user_pool.user_pool_id)
        if auth.client is not None:
            CfnOutput(self, "UserPoolClientId", value=auth.client.user_pool_client_id)
        CfnOutput(self, "Region", value=self.region)
        CfnOutput(self, "TableName", value=data.table.table_name)
        CfnOutput(self, "EventBusName", value=execution.bus.event_bus_name)
        CfnOutput(self, "Environment", value=config.name)
