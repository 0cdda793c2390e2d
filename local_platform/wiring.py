"""The wiring table (wiring.json at the repository root), read and checked."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WIRING_FILE = ROOT / "wiring.json"


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # API Gateway's template, e.g. /options/baskets/{basket_id}
    function: str
    pattern: re.Pattern

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None

    @property
    def specificity(self) -> tuple[int, int]:
        """API Gateway prefers literal segments over path parameters."""
        segments = self.resource.strip("/").split("/")
        return (sum(not s.startswith("{") for s in segments), len(segments))


@dataclass(frozen=True)
class Wiring:
    raw: dict[str, Any]

    @property
    def table(self) -> dict[str, Any]:
        table: dict[str, Any] = self.raw["table"]
        return table

    def stack_name(self, environment: str) -> str:
        template: str = self.raw["stack_name"]
        return template.format(env=environment)

    @property
    def functions(self) -> dict[str, dict[str, Any]]:
        functions: dict[str, dict[str, Any]] = self.raw["functions"]
        return functions

    @property
    def routes(self) -> list[Route]:
        routes = []
        for name, function in self.functions.items():
            for route in function.get("routes", []):
                method, resource = route.split(" ", 1)
                routes.append(Route(method, resource, name, _template_pattern(resource)))
        return sorted(routes, key=lambda r: r.specificity, reverse=True)

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                return route, parameters
        return None

    def paths(self) -> set[str]:
        return {route.resource for route in self.routes}

    def handler(self, function: str) -> Callable[..., Any]:
        module_name, attribute = self.functions[function]["handler"].rsplit(".", 1)
        handler: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
        return handler


def _template_pattern(resource: str) -> re.Pattern:
    parts = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", resource)
    pattern = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(pattern)


@lru_cache(maxsize=1)
def load() -> Wiring:
    return Wiring(json.loads(WIRING_FILE.read_text()))


def create_table(client: Any, table_name: str, wiring: Wiring | None = None) -> None:
    """The table exactly as the wiring table describes it (the stack reads the same description)."""
    spec = (wiring or load()).table
    attributes = {spec["partition_key"], spec["sort_key"]}
    indexes = []
    for index in spec["indexes"]:
        attributes |= {index["partition_key"], index["sort_key"]}
        indexes.append(
            {
                "IndexName": index["name"],
                "KeySchema": [
                    {"AttributeName": index["partition_key"], "KeyType": "HASH"},
                    {"AttributeName": index["sort_key"], "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": spec["partition_key"], "KeyType": "HASH"},
            {"AttributeName": spec["sort_key"], "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)
        ],
        GlobalSecondaryIndexes=indexes,
    )
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": spec["ttl_attribute"]},
    )
