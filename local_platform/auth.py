"""What API Gateway's Cognito authorizer does: verify an ID token, hand its claims to the handler."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

# moto serves a pool's JWKS only to requests that look like signed cognito-idp calls.
_JWKS_HEADERS = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/ap-south-1/cognito-idp/aws4_request, "
    "SignedHeaders=host, Signature=local"
}


class IdTokenVerifier:
    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        now: Callable[[], float] = time.time,
        fetch_jwks: Callable[[str], KeySetSerialization] | None = None,
    ):
        self.jwks_url, self.issuer, self.audience, self._now = jwks_url, issuer, audience, now
        self._fetch_jwks = fetch_jwks or _fetch_from_pool
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    def claims(self, authorization: str | None) -> dict | None:
        """The token's claims if it is a valid, unexpired ID token of this pool and client; else None.

        Token expiry is judged by real time: tokens are issued in real time, whatever the market clock says.
        """
        if not authorization:
            return None
        token = authorization.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        try:
            decoded = jwt.decode(token, self._key_set(), algorithms=["RS256"])
        except (JoseError, ValueError):
            return None
        claims = decoded.claims
        valid = (
            claims.get("iss") == self.issuer
            and claims.get("aud") == self.audience
            and claims.get("token_use") == "id"
            and isinstance(claims.get("exp"), (int, float))
            and claims["exp"] > self._now()
            and bool(claims.get("sub"))
        )
        return claims if valid else None

    def _key_set(self) -> KeySet:
        with self._lock:
            if self._keys is None:
                self._keys = KeySet.import_key_set(self._fetch_jwks(self.jwks_url))
            return self._keys


def _fetch_from_pool(url: str) -> KeySetSerialization:
    response = requests.get(url, headers=_JWKS_HEADERS, timeout=10)
    response.raise_for_status()
    keys: KeySetSerialization = response.json()
    return keys
