"""One patch to how moto 5.2.5 writes DynamoDB's answers: item values written straight out.

moto serializes every answer by walking the operation's output shape, and for each DynamoDB
attribute value it asks its attribute picker for each of the ten members of `AttributeValue` (S, N,
B, SS, NS, BS, M, L, NULL, BOOL) under several spellings. On a query of a trader's positions or
orders that walk was half of the local platform's CPU (py-spy over a five-trader session: 50% of
the samples holding the GIL were in `moto.core.serialize`).

The patch writes an attribute value that is plainly in DynamoDB's JSON form (one member: a string
S or N, a list of strings SS or NS, a boolean BOOL or NULL, or
an M or L of such values) as it is; anything else (B and BS, which moto base64-encodes, or any
shape it does not expect) goes to moto's own walk. The bytes on the wire are the same:
`tests/unit/test_moto_answers.py` compares the answers with and without it.

To drop it: when moto's serializer stops walking AttributeValue member by member (see
`BaseJSONSerializer._serialize_type_structure`), delete this module and its call in
`LocalAws.start()` (local_platform/aws.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.serialize import BaseJSONSerializer

_ORIGINAL: dict[str, Callable[..., None]] = {}
_SERVICES = ("dynamodb", "dynamodbstreams")
_STRINGS, _STRING_SETS, _BOOLEANS = ("S", "N"), ("SS", "NS"), ("BOOL", "NULL")


def _plain(value: Any) -> dict[str, Any] | None:
    """`value` as moto's walk would write it, or None where only that walk knows how."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in _STRINGS:
        return {kind: inner} if type(inner) is str else None
    if kind in _STRING_SETS:
        if type(inner) is not list or any(type(member) is not str for member in inner):
            return None
        return {kind: list(inner)}
    if kind in _BOOLEANS:
        # The JSON serializers have no boolean rule of their own: moto writes the value as it is.
        return {kind: inner} if type(inner) is bool else None
    if kind == "M" and type(inner) is dict:
        members = {}
        for name, member in inner.items():
            plain = _plain(member)
            if plain is None:
                return None
            members[name] = plain
        return {"M": members}
    if kind == "L" and type(inner) is list:
        elements = []
        for element in inner:
            plain = _plain(element)
            if plain is None:
                return None
            elements.append(plain)
        return {"L": elements}
    return None


def _serialize_type_structure(
    self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str
) -> None:
    if (
        key
        and shape.name == "AttributeValue"
        and self.operation_model.service_model.service_name in _SERVICES
    ):
        plain = _plain(value)
        if plain is not None:
            self._default_serialize(serialized, plain, shape, key)
            return
    _ORIGINAL["_serialize_type_structure"](self, serialized, value, shape, key)


def apply() -> None:
    if not _ORIGINAL:
        _ORIGINAL["_serialize_type_structure"] = BaseJSONSerializer._serialize_type_structure
        BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]  # the patch


def unapply() -> None:
    if _ORIGINAL:
        BaseJSONSerializer._serialize_type_structure = _ORIGINAL.pop(  # type: ignore[method-assign]  # moto's own, back
            "_serialize_type_structure"
        )
