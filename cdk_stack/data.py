"""The single table with its two GSIs, as wiring.json describes it."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_stack.config import EnvironmentConfig, wiring

# What the handlers do: single reads and queries, conditional writes, transactions of these.
ITEM_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
]


class TradingData(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: EnvironmentConfig):
        super().__init__(scope, construct_id)
        spec = wiring()["table"]
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=f"{config.prefix}-{spec['name']}",
            partition_key=dynamodb.Attribute(name=spec["partition_key"], type=string),
            sort_key=dynamodb.Attribute(name=spec["sort_key"], type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec["ttl_attribute"],
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=config.retain_data,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        for index in spec["indexes"]:
            self.table.add_global_secondary_index(
                index_name=index["name"],
                partition_key=dynamodb.Attribute(name=index["partition_key"], type=string),
                sort_key=dynamodb.Attribute(name=index["sort_key"], type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )

        self.index_names = [index["name"] for index in spec["indexes"]]

    def grant_items(self, grantee: iam.IGrantable) -> iam.Grant:
        """Item access to the table and its two named indexes: no wildcard over indexes."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=ITEM_ACTIONS,
            resource_arns=[self.table.table_arn]
            + [f"{self.table.table_arn}/index/{name}" for name in self.index_names],
        )
