"""What the synthesized templates must hold (issue 3's checks), asserted on the templates themselves."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from tests.infrastructure.conftest import ROOT, resources

WIRING = json.loads((ROOT / "wiring.json").read_text())


def test_one_table_with_the_specs_keys_and_both_indexes(dev):
    dev.resource_count_is("AWS::DynamoDB::Table", 1)
    dev.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "sort_key", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "AllocationsByStrategy",
                    "KeySchema": [
                        {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                        {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "UserExecutionSchedule",
                    "KeySchema": [
                        {"AttributeName": "GSI2PK", "KeyType": "HASH"},
                        {"AttributeName": "GSI2SK", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
        },
    )


def test_data_is_retained_and_protected_outside_dev(templates):
    for env, protected in (("dev", False), ("staging", True), ("prod", True)):
        (table,) = resources(templates[env], "AWS::DynamoDB::Table").values()
        assert table["Properties"].get("DeletionProtectionEnabled", False) is protected
        assert table["DeletionPolicy"] == ("Retain" if protected else "Delete")


def test_every_method_but_preflight_is_behind_the_cognito_authorizer(dev):
    methods = resources(dev, "AWS::ApiGateway::Method")
    routed = [m for m in methods.values() if m["Properties"]["HttpMethod"] != "OPTIONS"]
    preflight = [m for m in methods.values() if m["Properties"]["HttpMethod"] == "OPTIONS"]
    expected = sum(len(f.get("routes", [])) for f in WIRING["functions"].values())
    assert len(routed) == expected
    assert preflight
    assert all(m["Properties"]["AuthorizationType"] == "NONE" for m in preflight)
    (authorizer_id,) = resources(dev, "AWS::ApiGateway::Authorizer")
    for method in routed:
        assert method["Properties"]["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert method["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}
        assert "RequestValidatorId" in method["Properties"]
    dev.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {"Type": "COGNITO_USER_POOLS", "IdentitySource": "method.request.header.Authorization"},
    )


def test_the_stage_logs_throttles_and_is_behind_a_firewall(dev):
    dev.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": [
                Match.object_like({"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100})
            ],
        },
    )
    dev.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(dev, "AWS::ApiGateway::GatewayResponse").values()
    }
    for response in responses.values():
        template = response["ResponseTemplates"]["application/json"]
        # What API Gateway substitutes is itself a JSON string: the body must parse once it is in.
        assert json.loads(template.replace("$context.error.messageString", '"Unauthorized"'))[
            "error"
        ]["message"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    (acl,) = resources(dev, "AWS::WAFv2::WebACL").values()
    common = next(
        r for r in acl["Properties"]["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet"
    )
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]


def _function_logical_id(template, wiring_name: str) -> str:
    handler = WIRING["functions"][wiring_name]["handler"]
    (logical_id,) = [
        k
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if v["Properties"]["Handler"] == handler
    ]
    return logical_id


def test_the_four_rules_route_the_specs_events_to_their_handlers(dev):
    (bus_id,) = resources(dev, "AWS::Events::EventBus")
    rules = [
        r
        for r in resources(dev, "AWS::Events::Rule").values()
        if "EventPattern" in r["Properties"]
        and r["Properties"]["Targets"][0]["Arn"].get("Fn::GetAtt")
    ]
    assert len(rules) == 4
    types = json.loads((ROOT / WIRING["events"]["types"]).read_text())["types"]
    expected = {
        (types[r["event"]]["source"], types[r["event"]]["detail_type"]): r["target"]
        for r in WIRING["events"]["rules"]
    }
    assert set(expected) == {
        ("options.trading.scheduler", "Schedule Strategy Trigger"),
        ("options.trading.risk", "Check Stop Loss"),
        ("options.trading.validation", "Check Duplicate Orders"),
        ("options.trading.market", "Refresh Market Data"),
    }
    for rule in rules:
        properties = rule["Properties"]
        assert properties["EventBusName"] == {"Ref": bus_id}
        pattern = properties["EventPattern"]
        target_name = expected[(pattern["source"][0], pattern["detail-type"][0])]
        (target,) = properties["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [_function_logical_id(dev, target_name), "Arn"]}
        assert "DeadLetterConfig" in target
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2


def test_duplicate_order_alerts_reach_the_alarm_topic(dev):
    (topic_id,) = resources(dev, "AWS::SNS::Topic")
    (rule,) = [
        r
        for r in resources(dev, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type")
        == ["Duplicate Order Detected"]
    ]
    assert rule["Properties"]["EventPattern"]["source"] == ["options.trading.validation"]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": topic_id}
    assert "DeadLetterConfig" in target


def _definition(outdir, machine) -> dict:
    """from_file definitions are S3 assets: the file staged in the cloud assembly, named by its hash."""
    key = machine["Properties"]["DefinitionS3Location"]["Key"]
    return json.loads((outdir / f"asset.{key}").read_text())


def test_the_master_timer_is_standard_and_waits_for_an_absolute_timestamp(dev, cloud_assembly):
    outdir, _ = cloud_assembly
    machines = {
        m["Properties"]["StateMachineName"]: m
        for m in resources(dev, "AWS::StepFunctions::StateMachine").values()
    }
    timer = machines["ql-algo-trading-dev-options-master-timer"]
    assert timer["Properties"]["StateMachineType"] == "STANDARD"
    states = _definition(outdir, timer)["States"]
    waits = [s for s in states.values() if s["Type"] == "Wait"]
    assert waits == [{"Type": "Wait", "TimestampPath": "$.next_tick", "Next": "EmitEvents"}]
    assert states["MarketStillOpen"]["Type"] == "Choice"
    assert states["EmitEvents"]["Parameters"]["FunctionName"] == "${EventEmitterArn}"
    assert timer["Properties"]["DefinitionSubstitutions"] == {
        "EventEmitterArn": {"Fn::GetAtt": [_function_logical_id(dev, "event_emitter"), "Arn"]}
    }
    assert timer["Properties"]["LoggingConfiguration"]["Level"] == "ALL"
    workflow = machines["ql-algo-trading-dev-options-execution-workflow"]
    assert workflow["Properties"]["StateMachineType"] == "EXPRESS"
    assert (
        _definition(outdir, workflow)["States"]["WaitUntilExecutionTime"]["TimestampPath"]
        == "$.execute_at"
    )
    assert workflow["Properties"]["DefinitionSubstitutions"] == {
        "StrategyExecutorArn": {
            "Fn::GetAtt": [_function_logical_id(dev, "strategy_executor"), "Arn"]
        }
    }


def test_the_daily_start_is_0330_utc_on_weekdays_and_targets_the_timer_starter(dev):
    (rule,) = [
        r
        for r in resources(dev, "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert rule["Properties"]["ScheduleExpression"] == "cron(30 3 ? * MON-FRI *)"
    assert rule["Properties"]["State"] == "ENABLED"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [_function_logical_id(dev, "timer_starter"), "Arn"]}


def test_every_function_runs_the_latest_python_with_the_dependency_layer(dev):
    functions = resources(dev, "AWS::Lambda::Function")
    assert len(functions) == len(WIRING["functions"])
    for function in functions.values():
        assert function["Properties"]["Runtime"] == "python3.14"
        assert len(function["Properties"]["Layers"]) == 1
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_function_is_given_what_its_environment_model_requires(templates, env):
    from lambda_functions.environment import FUNCTION_ENVIRONMENTS, required_variables

    functions = resources(templates[env], "AWS::Lambda::Function").values()
    given = {
        f["Properties"]["Handler"]: set(f["Properties"]["Environment"]["Variables"])
        for f in functions
    }
    for name, spec in WIRING["functions"].items():
        missing = required_variables(FUNCTION_ENVIRONMENTS[name]) - given[spec["handler"]]
        assert not missing, f"{name} is not given {sorted(missing)}"


def test_log_retention_follows_the_environment(templates):
    for env, days in (("dev", 7), ("staging", 30), ("prod", 90)):
        groups = resources(templates[env], "AWS::Logs::LogGroup").values()
        assert {g["Properties"]["RetentionInDays"] for g in groups} == {days}


def test_no_policy_grants_a_wildcard_resource_beyond_what_has_no_resource_level_permissions(
    templates,
):
    allowed = (
        "xray:",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    )
    for template in templates.values():
        for policy in resources(template, "AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                targets = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                if "*" in targets:
                    actions = (
                        statement["Action"]
                        if isinstance(statement["Action"], list)
                        else [statement["Action"]]
                    )
                    assert all(a.startswith(allowed) for a in actions), statement


def test_prod_requires_mfa_and_threat_protection(templates):
    templates["prod"].has_resource_properties("AWS::Cognito::UserPool", {"MfaConfiguration": "ON"})
    templates["dev"].has_resource_properties(
        "AWS::Cognito::UserPool", {"MfaConfiguration": "OPTIONAL"}
    )


def test_alarms_and_alerts_publish_to_a_topic_whose_key_cloudwatch_and_eventbridge_may_use(dev):
    (topic,) = resources(dev, "AWS::SNS::Topic").values()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = resources(dev, "AWS::KMS::Key")[key_id]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal", {}).get("Service")
        == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
        and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(s["Action"])
        for s in statements
    )
    assert key["Properties"]["EnableKeyRotation"] is True
    assert all(
        a["Properties"]["AlarmActions"] == [{"Ref": next(iter(resources(dev, "AWS::SNS::Topic")))}]
        for a in resources(dev, "AWS::CloudWatch::Alarm").values()
    )


def test_outputs_carry_the_local_platforms_keys(dev):
    assert {"ApiUrl", "UserPoolId", "UserPoolClientId", "Region", "TableName"} <= set(
        dev.find_outputs("*")
    )


def test_cdk_nag_reports_no_unacknowledged_finding(cloud_assembly):
    outdir, _ = cloud_assembly  # the fixture's synth would have raised on any unacknowledged error
    report = json.loads((outdir / "validation-report.json").read_text())
    assert all(
        r["conclusion"] == "success" and not r.get("violations") for r in report["pluginReports"]
    )


def test_cdk_nag_does_fail_a_synth_with_an_unacknowledged_finding(tmp_path):
    from aws_cdk import App, Stack, Validations
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks

    app = App(outdir=str(tmp_path))
    sqs.Queue(Stack(app, "Careless"), "PlainQueue")  # no DLQ, no TLS-only policy
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS4"):
        app.synth()


def test_cfn_lint_finds_no_error(cloud_assembly):
    outdir, _ = cloud_assembly
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "json",
            *map(str, sorted(outdir.glob("*.template.json"))),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert errors == [], errors
    assert result.returncode in (0, 4, 8, 12), (
        result.stderr
    )  # warnings and informational notes only


@pytest.mark.parametrize("bad", ["qa", "local"])
def test_an_unknown_environment_is_refused_with_the_known_ones(bad):
    from cdk_stack.config import EnvironmentConfig

    environments = json.loads((ROOT / "cdk.json").read_text())["context"]["environments"]
    with pytest.raises(ValueError, match="dev, prod, staging"):
        EnvironmentConfig.from_context(environments, bad)


def test_the_auth_stacks_user_pool_can_be_imported_instead(tmp_path):
    from aws_cdk import App
    from aws_cdk.assertions import Template

    import app as entry

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    dev = {
        **context["environments"]["dev"],
        "auth": {"mode": "import", "user_pool_id_export": "UserAuthStack-UserPoolId"},
    }
    app = App(
        outdir=str(tmp_path),
        context={
            **context,
            "environments": {"dev": dev},
            "env": "dev",
            "aws:cdk:bundling-stacks": [],
        },
    )
    (stack,) = entry.build(app)
    app.synth()
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Cognito::UserPool", 0)
    (authorizer,) = resources(template, "AWS::ApiGateway::Authorizer").values()
    assert "UserAuthStack-UserPoolId" in json.dumps(authorizer["Properties"]["ProviderARNs"])
    assert "UserPoolClientId" not in template.find_outputs("*")


def test_missed_execution_alerts_reach_the_alarm_topic_and_the_trigger_may_put_them(dev):
    (topic_id,) = resources(dev, "AWS::SNS::Topic")
    (rule,) = [
        r
        for r in resources(dev, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == ["Execution Missed"]
    ]
    assert rule["Properties"]["EventPattern"]["source"] == ["options.trading.scheduler"]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": topic_id}
    trigger = resources(dev, "AWS::Lambda::Function")[
        _function_logical_id(dev, "schedule_strategy_trigger")
    ]
    assert "EVENT_BUS_NAME" in trigger["Properties"]["Environment"]["Variables"]
    role = trigger["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in resources(dev, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any("events:PutEvents" in str(s["Action"]) for s in statements)


def test_the_preflight_allows_a_manual_runs_idempotency_key(dev):
    preflight = [
        m
        for m in resources(dev, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    assert preflight
    for method in preflight:
        (response,) = method["Properties"]["Integration"]["IntegrationResponses"]
        allowed = response["ResponseParameters"][
            "method.response.header.Access-Control-Allow-Headers"
        ]
        assert "Idempotency-Key" in allowed.strip("'").split(",")
