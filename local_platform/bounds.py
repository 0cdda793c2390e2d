"""What the local platform's AWS stand-in (moto) would otherwise keep for ever, and the patches
that make it forget as AWS does. Each is installed once per process, at the platform's start, and is
small enough to drop when moto stops keeping the thing (tests/unit/test_memory_bounds.py runs the
same requests with and without them and compares the answers).

Every model moto makes (a DynamoDB item and each of its attribute values, a user, a token's pool
entry) is appended at construction to a class-wide list, `instances_tracked`, for its dashboard's
/moto-api/data.json; nothing takes one out. A DynamoDB write builds a new item, and a copy of an
item (an update, a transaction's undo, a snapshot) is another construction, so the lists hold every
version of every item ever written: with 20 traders that was gigabytes within the morning.
`stop_tracking_model_instances()` makes construction not append, and empties the lists: the local
platform serves neither the dashboard nor moto's S3 (the only other reader).

moto's user pool remembers every token it ever issued: each sign-in adds an ID token, an access
token and a refresh token to dicts that nothing empties, and the whole pool is saved with the
platform's state, so a data dir used for months carries every sign-in of those months into memory
at each start. Cognito itself forgets them: an ID or access token is worthless after its `exp`
(one hour), a refresh token after the app client's RefreshTokenValidity (30 days by default).

`forget_expired_tokens()` makes moto do the same, at the moment it issues a new token (so the
pool holds about one validity period of sign-ins, however long the platform runs): an expired
access token is then "Invalid token" where moto answered "Access Token has expired", both a
NotAuthorizedException, as Cognito's own answer is. The patch is small enough to drop when moto
forgets tokens itself.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.cognitoidp.models import CognitoIdpUserPool
from moto.core.common_models import BaseModel
from moto.core.model_instances import model_data, reset_model_data

DAY_SECONDS = 86400
DEFAULT_REFRESH_DAYS = 30  # Cognito's default RefreshTokenValidity
REFRESH_ISSUED = "_local_refresh_issued"  # kept on the pool, so it is saved with it

_patched: list[str] = []
_lock = threading.Lock()


def token_expiry(token: str) -> float | None:
    """The `exp` of a JWT, read without verifying it (it is the pool's own token); None if unreadable."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    expiry = claims.get("exp") if isinstance(claims, dict) else None
    return float(expiry) if isinstance(expiry, (int, float)) else None


def _drop_expired(tokens: dict[str, Any], now: float) -> None:
    """Tokens are issued in order with one validity, so the expired ones are the oldest: stop at
    the first that is still valid (a token without a readable expiry is left alone)."""
    for token in list(tokens):
        expiry = token_expiry(token)
        if expiry is None or expiry > now:
            return
        del tokens[token]


def _refresh_validity_seconds(pool: CognitoIdpUserPool, client_id: str) -> float:
    client = pool.clients.get(client_id)
    config = getattr(client, "extended_config", None) or {}
    days = config.get("RefreshTokenValidity", DEFAULT_REFRESH_DAYS)
    unit = (config.get("TokenValidityUnits") or {}).get("RefreshToken", "days")
    per_unit = {"seconds": 1, "minutes": 60, "hours": 3600, "days": DAY_SECONDS}.get(
        unit, DAY_SECONDS
    )
    return float(days) * per_unit


def _forget_old_refresh_tokens(pool: CognitoIdpUserPool, now: float) -> None:
    issued: dict[str, tuple[float, float]] = pool.__dict__.setdefault(REFRESH_ISSUED, {})
    for token, (at, validity) in list(issued.items()):
        if at + validity > now:
            continue
        del issued[token]
        pool.refresh_tokens.pop(token, None)


def forget_expired_tokens(now: Callable[[], float] = time.time) -> None:
    """Patch moto's user pools (once per process) to forget what Cognito would have forgotten.
    Token expiry is real time, as moto issues tokens in real time whatever the market clock says."""
    with _lock:
        if "cognito tokens" in _patched:
            return
        issue_id = CognitoIdpUserPool.create_id_token
        issue_access = CognitoIdpUserPool.create_access_token
        issue_refresh = CognitoIdpUserPool.create_refresh_token

        def create_id_token(
            self: CognitoIdpUserPool, client_id: str, username: str, origin_jti: str
        ) -> tuple[str, int]:
            _drop_expired(self.id_tokens, now())
            return issue_id(self, client_id, username, origin_jti)

        def create_access_token(
            self: CognitoIdpUserPool, client_id: str, username: str, origin_jti: str
        ) -> tuple[str, int]:
            _drop_expired(self.access_tokens, now())
            return issue_access(self, client_id, username, origin_jti)

        def create_refresh_token(
            self: CognitoIdpUserPool, client_id: str, username: str
        ) -> tuple[str, str]:
            moment = now()
            _forget_old_refresh_tokens(self, moment)
            token, origin_jti = issue_refresh(self, client_id, username)
            issued: dict[str, tuple[float, float]] = self.__dict__.setdefault(REFRESH_ISSUED, {})
            issued[token] = (moment, _refresh_validity_seconds(self, client_id))
            return token, origin_jti

        # Assigned, not declared: these replace moto's methods on its class for this process.
        setattr(CognitoIdpUserPool, "create_id_token", create_id_token)  # noqa: B010
        setattr(CognitoIdpUserPool, "create_access_token", create_access_token)  # noqa: B010
        setattr(CognitoIdpUserPool, "create_refresh_token", create_refresh_token)  # noqa: B010
        _patched.append("cognito tokens")


def _constructed(cls: type[BaseModel], *args: Any, **kwargs: Any) -> BaseModel:
    """moto's BaseModel.__new__ without the append to `instances_tracked`."""
    instance: BaseModel = object.__new__(cls)
    return instance


def stop_tracking_model_instances() -> None:
    """Patch moto (once per process) so that the models it makes are kept only where its backends
    keep them; what was tracked until now is let go."""
    with _lock:
        if "model instances" in _patched:
            return
        # A static method, as __new__ is: replaces moto's on its base class for this process.
        setattr(BaseModel, "__new__", staticmethod(_constructed))  # noqa: B010
        reset_model_data()
        _patched.append("model instances")


def tracked_instances() -> int:
    """How many model instances moto's classes hold in `instances_tracked` now (for the tests)."""
    return sum(
        len(getattr(model, "instances_tracked", ()))
        for models in model_data.values()
        for model in models.values()
    )


def remove_expired_items(client: Any, table_name: str, spec: dict[str, Any], now: float) -> int:
    """What DynamoDB's TTL does and moto does not: delete the items whose TTL attribute (epoch
    seconds) has passed. DynamoDB deletes them some time after they expire, so doing it when the
    platform starts (each `--session` day) is as timely; without it a data dir keeps every day's
    trigger watermark, claims, answers and option chains for ever. Each delete is conditional on
    the item still being expired, so an item written again meanwhile stays. The number deleted."""
    ttl, keys = spec["ttl_attribute"], (spec["partition_key"], spec["sort_key"])
    request: dict[str, Any] = {
        "TableName": table_name,
        "ProjectionExpression": "#k0, #k1",
        "FilterExpression": "#ttl < :now",
        "ExpressionAttributeNames": {"#k0": keys[0], "#k1": keys[1], "#ttl": ttl},
        "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
    }
    deleted = 0
    while True:
        page = client.scan(**request)
        for key in page.get("Items", []):
            try:
                client.delete_item(
                    TableName=table_name,
                    Key=key,
                    ConditionExpression="#ttl < :now",
                    ExpressionAttributeNames={"#ttl": ttl},
                    ExpressionAttributeValues={":now": {"N": str(int(now))}},
                )
                deleted += 1
            except client.exceptions.ConditionalCheckFailedException:
                continue  # written again since the scan: not expired any more
        if "LastEvaluatedKey" not in page:
            return deleted
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
