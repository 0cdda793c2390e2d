"""Per-environment settings from cdk.json's context, and the wiring table, read once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "staging", "prod")


@lru_cache(maxsize=1)
def wiring() -> dict[str, Any]:
    table: dict[str, Any] = json.loads((ROOT / "wiring.json").read_text())
    return table


@lru_cache(maxsize=1)
def event_types() -> dict[str, Any]:
    """The emitter's event types (shared_utils/data/events.json): read here by path, never imported."""
    types: dict[str, Any] = json.loads((ROOT / wiring()["events"]["types"]).read_text())["types"]
    return types


@lru_cache(maxsize=1)
def alert_types() -> dict[str, Any]:
    """Events the engine raises for a person to look at (shared_utils/data/events.json)."""
    alerts: dict[str, Any] = json.loads((ROOT / wiring()["events"]["types"]).read_text()).get(
        "alerts", {}
    )
    return alerts


def missing_handlers() -> list[str]:
    """Wired functions whose handler module is not in the repository (by path; nothing is imported)."""
    return [
        name
        for name, function in wiring()["functions"].items()
        if not (ROOT / (function["handler"].rsplit(".", 1)[0].replace(".", "/") + ".py")).exists()
    ]


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    region: str
    account: str | None
    log_retention_days: int
    lambda_memory_mb: int
    lambda_timeout_seconds: int
    api_rate_limit: int
    api_burst_limit: int
    cors_allow_origins: tuple[str, ...]
    alarm_email: str | None
    retain_data: bool
    mfa: str
    threat_protection: bool
    auth_mode: str
    user_pool_id_export: str | None

    @property
    def stack_name(self) -> str:
        template: str = wiring()["stack_name"]
        return template.format(env=self.name)

    @property
    def prefix(self) -> str:
        return f"ql-algo-trading-{self.name}-options"

    @classmethod
    def from_context(cls, environments: dict[str, Any], name: str) -> EnvironmentConfig:
        if name not in environments:
            raise ValueError(
                f"no context for environment {name!r}; cdk.json knows {', '.join(sorted(environments))}"
            )
        raw = environments[name]
        auth = raw.get("auth", {"mode": "create"})
        if auth["mode"] not in ("create", "import"):
            raise ValueError(f"{name}: auth.mode must be 'create' or 'import'")
        if raw["log_retention_days"] not in (7, 30, 90):
            raise ValueError(
                f"{name}: log_retention_days is 7, 30 or 90 (the spec's three settings)"
            )
        return cls(
            name=name,
            region=raw.get("region", "ap-south-1"),
            account=raw.get("account"),
            log_retention_days=raw["log_retention_days"],
            lambda_memory_mb=raw["lambda_memory_mb"],
            lambda_timeout_seconds=raw.get("lambda_timeout_seconds", 29),
            api_rate_limit=raw["api_throttle"]["rate_limit"],
            api_burst_limit=raw["api_throttle"]["burst_limit"],
            cors_allow_origins=tuple(raw.get("cors_allow_origins", ["*"])),
            alarm_email=raw.get("alarm_email"),
            retain_data=raw["retain_data"],
            mfa=raw.get("mfa", "OPTIONAL"),
            threat_protection=raw.get("threat_protection", False),
            auth_mode=auth["mode"],
            user_pool_id_export=auth.get("user_pool_id_export"),
        )
