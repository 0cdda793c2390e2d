"""The marks that keep runs from being doubled or silently missed, beside the execution records:

- The trigger's watermark (one item per trading day in the platform's own partition): the end of
  the last window it covered, so a trigger after a gap (the platform was down, the timer died)
  covers the gap.
- A manual run's claim (RUN_CLAIM#TYPE#strategy in the trader's partition), held with a lease so
  that a crashed run cannot block the strategy for ever, and kept a short while after a run that
  placed orders (the double-submit window); the table's TTL removes old ones.
- A manual run's answer under the client's Idempotency-Key (MANUAL_ANSWER#key in the trader's
  partition) for a day, so that the same request sent again is answered the same, not run again.
"""

from __future__ import annotations

from datetime import date, datetime

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.domain.clock import utc_iso
from shared_utils.domain.enums import ExecutionType
from shared_utils.domain.errors import Conflict
from shared_utils.engine.ports import HeldRun
from shared_utils.engine.records import ExecutionReport


def _expires(moment: datetime, days: int) -> int:
    """Epoch seconds for the table's TTL: the item is gone some days after it stops mattering."""
    return int(moment.timestamp()) + days * 86400


class RunMarks:
    """The engine's TriggerWatermark and RunClaims on the single table (part of its ExecutionStore)."""

    def __init__(self, repository: ConfigurationRepository):
        self.repository = repository

    def covered_until(self, day: date) -> datetime | None:
        item = self.repository.get(keys.PLATFORM, keys.trigger_watermark(day))
        return datetime.fromisoformat(item["covered_until"]) if item else None

    def cover(self, day: date, until: datetime) -> None:
        try:
            self.repository.commit(
                [
                    db.update(
                        keys.PLATFORM,
                        keys.trigger_watermark(day),
                        "SET covered_until = :until, entity_type = :entity, expires_at = :expires",
                        "attribute_not_exists(covered_until) OR covered_until < :until",
                        Conflict("covered further already"),
                        values={
                            ":until": utc_iso(until),
                            ":entity": "TRIGGER_WATERMARK",
                            ":expires": _expires(until, days=7),
                        },
                    )
                ]
            )
        except Conflict:
            return  # another trigger covered at least as far: a watermark only moves forward

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
        sort_key = keys.run_claim(execution_type, strategy_id)
        item: dict[str, object] = {
            keys.PK: user_id,
            keys.SK: sort_key,
            "entity_type": "RUN_CLAIM",
            "holder": holder,
            "claimed_at": utc_iso(at),
            "lease_until": utc_iso(until),
            "expires_at": _expires(until, days=1),
        }
        try:
            self.repository.commit(
                [
                    db.Write(
                        "Put",
                        {keys.PK: user_id, keys.SK: sort_key},
                        item=item,
                        condition="attribute_not_exists(sort_key) OR lease_until < :now"
                        + (" OR attribute_exists(finished_at)" if past_a_finished_run else ""),
                        values={":now": utc_iso(at)},
                        on_condition_failure=Conflict("claimed"),
                    )
                ]
            )
        except Conflict:
            held = self.repository.get(user_id, sort_key)
            if held is None:  # released between the write and the read
                return HeldRun("another run", None, None)
            finished = held.get("finished_at")
            return HeldRun(
                str(held["holder"]),
                datetime.fromisoformat(str(finished)) if finished else None,
                datetime.fromisoformat(str(held["lease_until"])),
            )
        return None

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
        sort_key = keys.run_claim(execution_type, strategy_id)
        write = (
            db.update(
                user_id,
                sort_key,
                "SET lease_until = :until, finished_at = :finished, expires_at = :expires",
                "holder = :holder",
                Conflict("not held"),
                values={
                    ":holder": holder,
                    ":until": utc_iso(keep_until),
                    ":finished": utc_iso(finished_at or keep_until),
                    ":expires": _expires(keep_until, days=1),
                },
            )
            if keep_until is not None
            else db.Write(
                "Delete",
                {keys.PK: user_id, keys.SK: sort_key},
                condition="holder = :holder",
                values={":holder": holder},
                on_condition_failure=Conflict("not held"),
            )
        )
        try:
            self.repository.commit([write])
        except Conflict:
            return  # the lease ran out and another run holds it now: that claim is not ours

    def answer_for(self, user_id: str, idempotency_key: str) -> tuple[str, ExecutionReport] | None:
        item = self.repository.get(user_id, keys.manual_answer(idempotency_key))
        if item is None:
            return None
        return str(item["request"]), ExecutionReport.model_validate(item["report"])

    def keep_answer(
        self,
        user_id: str,
        idempotency_key: str,
        request: str,
        report: ExecutionReport,
        at: datetime,
    ) -> None:
        item = {
            keys.PK: user_id,
            keys.SK: keys.manual_answer(idempotency_key),
            "entity_type": "MANUAL_ANSWER",
            "request": request,
            "report": report.model_dump(mode="python"),
            "answered_at": utc_iso(at),
            "expires_at": _expires(at, days=1),
        }
        self.repository.commit([db.put(item)])
