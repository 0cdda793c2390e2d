"""The local authorizer accepts exactly what API Gateway's Cognito authorizer would."""

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from local_platform.auth import IdTokenVerifier

ISSUER = "https://cognito-idp.ap-south-1.amazonaws.com/ap-south-1_pool"
CLIENT = "client-1"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def token(key=KEY, **overrides):
    claims = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "exp": int(time.time()) + 600,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


@pytest.fixture
def verifier():
    published = KeySet([KEY]).as_dict(private=False)
    return IdTokenVerifier("https://jwks", ISSUER, CLIENT, fetch_jwks=lambda url: published)


def test_a_valid_id_token_gives_its_claims_with_or_without_bearer(verifier):
    assert verifier.claims(f"Bearer {token()}")["sub"] == "user-1"
    assert verifier.claims(token())["sub"] == "user-1"


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "Bearer ",
        "Bearer not.a.jwt",
        token(key=OTHER_KEY),
        token(exp=int(time.time()) - 1),
        token(aud="another-client"),
        token(iss="https://cognito-idp.ap-south-1.amazonaws.com/another-pool"),
        token(token_use="access"),
        token(sub=None),
    ],
)
def test_anything_else_is_refused(verifier, bad):
    assert verifier.claims(bad) is None


def test_a_tampered_payload_is_refused(verifier):
    header, _payload, signature = token().split(".")
    forged = token(sub="someone-else").split(".")[1]
    assert verifier.claims(f"{header}.{forged}.{signature}") is None
