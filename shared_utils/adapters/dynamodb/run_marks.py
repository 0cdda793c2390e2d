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
        try:
            # An update, not a put: a run taking over a finished one (a new Idempotency-Key) keeps
            # that run's `window_until`, which its release hands back if it placed nothing.
            self.repository.commit(
                [
                    db.update(
                        user_id,
                        sort_key,
                        "SET entity_type = :entity, holder = :holder, claimed_at = :at,"
                        " lease_until = :until, expires_at = :expires REMOVE finished_at",
                        "attribute_not_exists(sort_key) OR lease_until < :at"
                        + (" OR attribute_exists(finished_at)" if past_a_finished_run else ""),
                        Conflict("claimed"),
                        values={
                            ":entity": "RUN_CLAIM",
                            ":holder": holder,
                            ":at": utc_iso(at),
                            ":until": utc_iso(until),
                            ":expires": _expires(until, days=1),
                        },
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
        if keep_until is not None:
            finished = utc_iso(finished_at or keep_until)
            writes = [
                db.update(
                    user_id,
                    sort_key,
                    "SET lease_until = :until, finished_at = :finished, expires_at = :expires,"
                    " window_until = :until, window_from = :finished, window_holder = holder",
                    "holder = :holder",
                    Conflict("not held"),
                    values={
                        ":holder": holder,
                        ":until": utc_iso(keep_until),
                        ":finished": finished,
                        ":expires": _expires(keep_until, days=1),
                    },
                )
            ]
        else:
            writes = [self._window_handed_back(user_id, sort_key, holder, finished_at)]
        try:
            self.repository.commit(writes)
        except Conflict:
            return  # the lease ran out and another run holds it now: that claim is not ours

    def _window_handed_back(
        self, user_id: str, sort_key: str, holder: str, finished_at: datetime | None
    ) -> db.Write:
        """A run that placed nothing keeps nothing of its own; the claim goes, unless an earlier
        run's double-submit window is still open: then that window holds the claim again."""
        item = self.repository.get(user_id, sort_key)
        window = item.get("window_until") if item else None
        now = utc_iso(finished_at) if finished_at else None
        if window is not None and now is not None and str(window) > now:
            return db.update(
                user_id,
                sort_key,
                "SET lease_until = window_until, finished_at = window_from, holder = window_holder",
                "holder = :holder AND window_until = :window",
                Conflict("not held"),
                values={":holder": holder, ":window": window},
            )
        return db.Write(
            "Delete",
            {keys.PK: user_id, keys.SK: sort_key},
            condition="holder = :holder",
            values={":holder": holder},
            on_condition_failure=Conflict("not held"),
        )

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
