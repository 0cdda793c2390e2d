"""Domain errors. Handlers map each to one HTTP status; the domain never speaks HTTP itself."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DomainError(Exception):
    message: str
    details: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """The request is well formed but breaks a rule (a field's value, or fields together)."""

    @classmethod
    def at(cls, field_path: str, message: str) -> InvalidInput:
        return cls(f"{field_path}: {message}", [{"field": field_path, "message": message}])


class NotFound(DomainError):
    """Missing, or belonging to someone else: the two must look the same."""


class Conflict(DomainError):
    """The state forbids it: a stale version, a duplicate, a delete that would orphan something."""
