"""Who may call the API: this stack's own user pool, or the auth stack's, imported."""

from aws_cdk import Duration, Fn, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from cdk_stack.config import EnvironmentConfig
from cdk_stack.nag import acknowledge


class Authentication(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: EnvironmentConfig):
        super().__init__(scope, construct_id)
        self.client: cognito.IUserPoolClient | None = None
        if config.auth_mode == "import":
            # The spec's cross-stack design: the user-auth-broker-management stack owns the users.
            if config.user_pool_id_export is None:
                raise ValueError(
                    f"{config.name}: auth.mode 'import' needs auth.user_pool_id_export"
                )
            self.user_pool = cognito.UserPool.from_user_pool_id(
                self, "ImportedUserPool", Fn.import_value(config.user_pool_id_export)
            )
            return
        pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{config.prefix}-users",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa[config.mfa],
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS
            if config.threat_protection
            else cognito.FeaturePlan.ESSENTIALS,
            standard_threat_protection_mode=(
                cognito.StandardThreatProtectionMode.FULL_FUNCTION
                if config.threat_protection
                else None
            ),
            deletion_protection=config.retain_data,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        self.user_pool = pool
        self.client = pool.add_client(
            "AppClient",
            user_pool_client_name=f"{config.prefix}-app",
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        if config.mfa != "REQUIRED":
            acknowledge(
                pool,
                "AwsSolutions-COG2",
                f"MFA is {config.mfa} in {config.name}: its automated end-to-end suite signs users in with a password; "
                "prod requires TOTP MFA (cdk.json context)",
            )
        if not config.threat_protection:
            acknowledge(
                pool,
                "AwsSolutions-COG8",
                f"the Plus feature plan is paid per user and buys threat protection, on in prod; {config.name} holds test users",
            )
            acknowledge(
                pool,
                "AwsSolutions-COG3",
                f"threat protection needs the Plus feature plan, enabled in prod only; {config.name} holds test users",
            )
