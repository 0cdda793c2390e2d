"""The REST API: every route of the wiring table, each behind the Cognito authorizer."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from cdk_stack.config import EnvironmentConfig, wiring
from cdk_stack.functions import Functions, log_group
from cdk_stack.nag import acknowledge

# $context.error.messageString arrives already quoted (a JSON string), so it is not quoted again.
ERROR_TEMPLATE = '{"error": {"code": "%s", "message": $context.error.messageString, "details": []}}'
# Errors API Gateway answers itself, in the API's one error shape. An unknown route would be a 403
# ("Missing Authentication Token"): it is a 404, as the API's error contract says (docs/architecture.md).
GATEWAY_ERRORS = {
    apigateway.ResponseType.UNAUTHORIZED: ("UNAUTHORIZED", None),
    apigateway.ResponseType.ACCESS_DENIED: ("FORBIDDEN", None),
    apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN: ("NOT_FOUND", "404"),
    apigateway.ResponseType.THROTTLED: ("THROTTLED", None),
    apigateway.ResponseType.BAD_REQUEST_BODY: ("BAD_REQUEST", None),
    apigateway.ResponseType.DEFAULT_4_XX: ("BAD_REQUEST", None),
    apigateway.ResponseType.DEFAULT_5_XX: ("INTERNAL_ERROR", None),
}


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: EnvironmentConfig,
        functions: Functions,
        user_pool: cognito.IUserPool,
    ):
        super().__init__(scope, construct_id)
        access_logs = log_group(self, "AccessLogs", config)
        origins = list(config.cors_allow_origins)
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.prefix}-api",
            description="Options Strategy Platform: baskets, strategies, legs, leg-level broker allocations",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigateway.StageOptions(
                stage_name=config.name,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
            ),
            default_cors_preflight_options=apigateway.CorsOptions(
                allow_origins=origins,
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "X-Amz-Date",
                    "X-Amz-Security-Token",
                    "Idempotency-Key",  # a manual run's retry key (options/executions/manual)
                ],
            ),
        )
        authorizer = apigateway.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[user_pool],
            identity_source="method.request.header.Authorization",
        )
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        for name, spec in wiring()["functions"].items():
            integration = apigateway.LambdaIntegration(functions[name])
            for route in spec.get("routes", []):
                method, path = route.split(" ", 1)
                resource = self.rest_api.root.resource_for_path(path)
                parameters = {
                    f"method.request.path.{segment[1:-1]}": True
                    for segment in path.split("/")
                    if segment.startswith("{")
                }
                resource.add_method(
                    method,
                    integration,
                    authorizer=authorizer,
                    authorization_type=apigateway.AuthorizationType.COGNITO,
                    request_validator=validator,
                    request_parameters=parameters or None,
                )
        cors_origin = f"'{origins[0]}'" if len(origins) == 1 else "method.request.header.Origin"
        for response_type, (code, status) in GATEWAY_ERRORS.items():
            self.rest_api.add_gateway_response(
                f"{code.title()}{response_type.response_type}",
                type=response_type,
                status_code=status,
                response_headers={"Access-Control-Allow-Origin": cors_origin},
                templates={"application/json": ERROR_TEMPLATE % code},
            )
        self._firewall(config)
        acknowledge(
            self.rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level CloudWatch role needs exactly this AWS managed policy to write execution logs",
        )

    def _firewall(self, config: EnvironmentConfig) -> None:
        """AWS managed protections plus a per-IP rate limit, in front of the stage."""

        def managed(
            name: str, priority: int, counted: tuple[str, ...] = ()
        ) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule,
                                action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                            )
                            for rule in counted
                        ]
                        or None,
                    )
                ),
                visibility_config=_visibility(name),
            )

        acl = wafv2.CfnWebACL(
            self,
            "Firewall",
            name=f"{config.prefix}-api-firewall",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("api-firewall"),
            rules=[
                # Its 8 KB body limit would refuse valid bulk allocations (20 accounts x 6 legs);
                # API Gateway's own payload limit and the models' bounds apply instead.
                managed("AWSManagedRulesCommonRuleSet", 1, counted=("SizeRestrictions_BODY",)),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
                wafv2.CfnWebACL.RuleProperty(
                    name="PerIpRateLimit",
                    priority=3,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=2000, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=_visibility("PerIpRateLimit"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "FirewallAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )

    @property
    def url(self) -> str:
        return self.rest_api.url


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )
