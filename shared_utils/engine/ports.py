"""What the engine asks of storage, in the trader's words. The DynamoDB adapter implements each
(`shared_utils/adapters/dynamodb/`); the engine never sees a key, an index or an item.

Keys are opaque: where the engine must name a record it has not read yet (today's entry of a
strategy, the intent of an order), it asks the store for the key and passes it on unopened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from shared_utils.configuration.schedule import ScheduleEntry
from shared_utils.domain.enums import ExecutionStatus, ExecutionType, Weekday
from shared_utils.engine.performance import MetricCounts
from shared_utils.engine.records import (
    ExecutionRecord,
    ExecutionRef,
    ExecutionReport,
    ExecutionResults,
    Fill,
    Found,
    OrderRecord,
    Position,
)


class TriggerWatermark(Protocol):
    """How far the schedule trigger has covered each trading day."""

    def covered_until(self, day: date) -> datetime | None:
        """The end (exclusive) of the last window covered on `day`, None before the first."""
        ...

    def cover(self, day: date, until: datetime) -> None:
        """Covered up to `until` (never moves back)."""
        ...


@dataclass(frozen=True)
class HeldRun:
    """Who holds a manual run's claim: a run in progress (`finished_at` None), or one that placed
    orders a moment ago and keeps the claim until `until` against a double submit."""

    holder: str
    finished_at: datetime | None
    until: datetime | None


class RunClaims(Protocol):
    """One manual run at a time per strategy and kind, held with a lease."""

    def claim_run(
        self,
        user_id: str,
        execution_type: ExecutionType,
        strategy_id: str,
        holder: str,
        at: datetime,
        until: datetime,
        *,
        past_a_finished_run: bool = False,
    ) -> HeldRun | None:
        """Claim it for `holder` until `until` (a claim whose lease has run out is taken over, and
        with `past_a_finished_run` one kept after a finished run too): None when claimed, else who
        holds it."""
        ...

    def release_run(
        self,
        user_id: str,
        execution_type: ExecutionType,
        strategy_id: str,
        holder: str,
        *,
        finished_at: datetime | None = None,
        keep_until: datetime | None = None,
    ) -> None:
        """Give the claim back; with `keep_until`, keep it (as finished at `finished_at`) until
        then, so that a second submit of the same run meanwhile is refused."""
        ...

    def answer_for(self, user_id: str, idempotency_key: str) -> tuple[str, ExecutionReport] | None:
        """The answer kept for a client's Idempotency-Key: (the request it answered, the report)."""
        ...

    def keep_answer(
        self,
        user_id: str,
        idempotency_key: str,
        request: str,
        report: ExecutionReport,
        at: datetime,
    ) -> None:
        """Keep a manual run's answer under the client's key for a day."""
        ...


class ExecutionStore(TriggerWatermark, RunClaims, Protocol):
    """The execution records: created once, claimed once, finished once; and the trigger's
    watermark and the manual runs' claims beside them."""

    def execution_key(
        self, execution_type: ExecutionType, strategy_id: str, day: date, *qualifiers: str
    ) -> str:
        """The key of one execution of a strategy on a trading day; `qualifiers` tell apart the
        closes the position watch makes on one day (an account, a leg, a reason)."""
        ...

    def again(self, key: str, qualifier: str) -> str:
        """The key of another run of the execution keyed `key` (a forced manual run, a retry)."""
        ...

    def create(self, record: ExecutionRecord) -> bool:
        """Record a SCHEDULED execution unless one with its key exists: whether it was created."""
        ...

    def get(self, user_id: str, key: str) -> ExecutionRecord | None: ...

    def mark_started(self, record: ExecutionRecord) -> None:
        """Its workflow started: PENDING -> STARTED (another trigger may have marked it first)."""
        ...

    def claim(self, ref: ExecutionRef, at: datetime) -> bool:
        """SCHEDULED -> IN_PROGRESS, conditionally: False when another executor has it."""
        ...

    def finish(
        self,
        ref: ExecutionRef,
        status: ExecutionStatus,
        results: ExecutionResults,
        at: datetime,
        counts: Sequence[MetricCounts],
    ) -> None:
        """IN_PROGRESS -> `status` with the results, and the metric counts added, together."""
        ...

    def history(self, user_id: str, strategy_id: str | None) -> Found[ExecutionRecord]:
        """Every execution of the user (of one strategy), entries, exits and stop losses, and the
        items that did not read as one."""
        ...

    def runs_on(
        self, user_id: str, execution_type: ExecutionType, strategy_id: str, day: date
    ) -> Found[ExecutionRecord]:
        """Every run of one strategy's entry (or exit) on a trading day: the scheduled one and
        the manual ones."""
        ...

    def awaiting(self, day: date) -> Found[ExecutionRecord]:
        """The day's scheduled executions that no executor has claimed yet (nor SKIPPED), and the
        MISSED ones whose alert is not yet on the bus, across all users. It costs a fixed number of
        index queries (one per shard) but reads every such record of the day: at a tick early in
        the day that is most of the day's executions, so its cost grows with the executions still
        to run that day, not with the users who have none."""
        ...

    def mark_alerted(self, record: ExecutionRecord) -> None:
        """A MISSED execution's alert is on the bus: it no longer waits to be alerted."""
        ...

    def run_late(
        self, record: ExecutionRecord, due_at: datetime, found_at: datetime, reason: str
    ) -> bool:
        """A SCHEDULED execution found after its time is to run now: say how late and why, and make
        its workflow PENDING again, only while its workflow is still the one `record` was read with.
        False when an executor claimed it (or a trigger started it) meanwhile."""
        ...

    def mark_missed(
        self, record: ExecutionRecord, due_at: datetime, found_at: datetime, reason: str
    ) -> bool:
        """SCHEDULED -> MISSED with the reason, only while its workflow is still the one `record`
        was read with: False when an executor claimed it (or a trigger started it) meanwhile. It
        waits to be alerted (see `awaiting`) until `mark_alerted`."""
        ...

    def skip(self, record: ExecutionRecord, reason: str) -> bool:
        """SCHEDULED -> SKIPPED (a manual run does it first): False when it is no longer SCHEDULED."""
        ...

    def unskip(self, record: ExecutionRecord, reason: str) -> bool:
        """SKIPPED (with this reason) -> SCHEDULED again, its workflow PENDING: the manual run that
        skipped it placed nothing."""
        ...


class OrderStore(Protocol):
    """The orders the executor sends: each intent recorded before it is sent."""

    def order_key(self, execution_date: str, tag: str) -> str: ...

    def record_intent(self, order: OrderRecord) -> bool:
        """Record the intent (status INTENT) unless it is there already: whether it was recorded."""
        ...

    def get(self, user_id: str, key: str) -> OrderRecord | None: ...

    def save_unless_applied(self, order: OrderRecord) -> OrderRecord:
        """Store what became of the order, never over a record whose fill a reconciliation has
        applied meanwhile: the record as it now stands."""
        ...

    def orders(
        self,
        user_id: str,
        on: date | None,
        strategy_id: str | None = None,
        client_id: str | None = None,
    ) -> list[OrderRecord]:
        """The user's orders (placed on the execution date `on`, of a strategy, of an account)."""
        ...


class Schedule(Protocol):
    """The compiled schedule, and the strategies it is compiled from."""

    @property
    def queries_per_slot(self) -> int:
        """Requests one `due_at` costs, however many users there are."""
        ...

    def due_at(
        self, execution_type: ExecutionType, weekday: Weekday, hhmm: str
    ) -> Found[ScheduleEntry]:
        """Every entry due at one slot, across all users, and the items that did not read as one."""
        ...

    def of_user(self, user_id: str, execution_type: ExecutionType) -> list[ScheduleEntry]: ...

    def strategy_names(self, user_id: str) -> dict[str, str | None]:
        """The user's strategies: id -> name."""
        ...

    def has_strategy(self, user_id: str, strategy_id: str) -> bool: ...


class PositionLedger(Protocol):
    """What the executor needs of the positions: what is held, the closing claims, and fills netted
    into their positions (each fill once)."""

    def held(
        self, user_id: str, strategy_id: str | None = None, client_id: str | None = None
    ) -> Found[Position]:
        """The user's positions (of a strategy, on an account), open or flat, and the items that
        did not read as one."""
        ...

    def position(self, user_id: str, key: str) -> Position | None:
        """The position as it stands now (None if it is gone)."""
        ...

    def claim(self, position: Position, execution_key: str) -> bool:
        """Mark the position as being closed by this execution: False when another holds it."""
        ...

    def release(self, position: Position, execution_key: str) -> None:
        """Give this execution's claim back (nothing happens if it holds none)."""
        ...

    def record_fill(self, fill: Fill) -> Position | None:
        """Store the filled order and net it into its position, both or neither: the position, or
        None when this fill was applied before."""
        ...
