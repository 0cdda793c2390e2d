"""Manual runs: strict input, one run at a time however many requests race, and a day's scheduled
entry that a failed manual entry gives back and a successful one stops from entering twice."""

import json
import threading
from datetime import datetime, timedelta

import pytest

from shared_utils.adapters.dynamodb.engine_tables import engine_tables
from shared_utils.domain.clock import IST, FixedClock
from shared_utils.domain.enums import ExecutionType
from shared_utils.domain.errors import Conflict
from tests.conftest import all_items
from tests.integration.test_missed_executions import Platform
from tests.integration.test_missed_executions import iron_condor as iron_condor_at
from tests.integration.test_position_watch import queries_on
from tests.integration.test_strategy_executor import executor, paper_book

MONDAY_0925 = datetime(2026, 3, 2, 9, 25, 0, 400000, tzinfo=IST)
USER = "sub-alice"


def queries(repository, clock, run=None):
    return queries_on(repository, clock, run or executor(repository, clock))


class HeldUntilTheOthersAnswer:
    """An executor whose run goes on only once every other request has been answered: what the
    others meet is a run in progress, however fast this machine is."""

    def __init__(self, inner, others: int):
        self.inner, self.others, self.answered = inner, others, threading.Semaphore(0)

    def execute(self, ref):
        for _ in range(self.others):
            assert self.answered.acquire(timeout=30), "another request was never answered"
        return self.inner.execute(ref)


@pytest.mark.parametrize("force", [True, False])
def test_concurrent_manual_entries_run_once_and_the_others_are_told_which_run(
    service, repository, force
):
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    clock = FixedClock(MONDAY_0925)
    requests = 5
    held = HeldUntilTheOthersAnswer(executor(repository, clock), requests - 1)
    manual = queries(repository, clock, held)
    reports, refusals = [], []
    start = threading.Barrier(requests)

    def request():
        start.wait()
        try:
            reports.append(manual.run_now(USER, strategy_id, "entry", force=force))
        except Conflict as conflict:
            refusals.append(str(conflict))
            held.answered.release()

    threads = [threading.Thread(target=request) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.status for r in reports] == ["COMPLETED"]
    assert len(refusals) == requests - 1
    assert all(
        f"a manual entry of strategy {strategy_id} is running (EXECUTION_ENTRY#{strategy_id}#20260302#M"
        in r
        for r in refusals
    )
    books = [paper_book(repository, clock, c).order_book() for c in ("ZERODHA123", "ANGELONE456")]
    assert [len(book) for book in books] == [4, 4]  # one set of orders, not five
    runs = engine_tables(repository, clock).executions.runs_on(
        USER, ExecutionType.ENTRY, strategy_id, clock.now().date()
    )
    assert sorted(r.status for r in runs.records) == ["COMPLETED", "SKIPPED"]


def test_forced_runs_a_minute_apart_each_run(service, repository):
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    manual = queries(repository, FixedClock(MONDAY_0925))
    manual.run_now(USER, strategy_id, "entry", force=False)
    later = queries(repository, FixedClock(MONDAY_0925 + timedelta(seconds=61)))
    assert later.run_now(USER, strategy_id, "entry", force=True).status == "COMPLETED"
    assert len(paper_book(repository, FixedClock(MONDAY_0925), "ZERODHA123").order_book()) == 8


def test_the_same_forced_run_served_in_turn_within_a_minute_is_a_double_submit(service, repository):
    """The local front (and a client retrying a slow answer) hands racing requests over one after
    another: a forced run right after one that placed orders is refused, and places nothing."""
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    first = queries(repository, FixedClock(MONDAY_0925)).run_now(USER, strategy_id, "entry", True)
    assert first.status == "COMPLETED"
    soon = queries(repository, FixedClock(MONDAY_0925 + timedelta(seconds=59)))
    with pytest.raises(Conflict) as refused:
        soon.run_now(USER, strategy_id, "entry", force=True)
    assert str(refused.value).startswith(
        f"a manual entry of strategy {strategy_id} placed orders at 09:25:00 IST ({first.key}); "
        "the same run asked for within 60 s of it is taken for a double submit and refused: "
        "send it again after 09:26:00 IST"
    )
    assert len(paper_book(repository, FixedClock(MONDAY_0925), "ZERODHA123").order_book()) == 4


def test_a_run_under_a_new_key_that_placed_nothing_leaves_the_double_submit_window_open(
    service, repository
):
    """A run under a new Idempotency-Key that failed once deleted the claim, and with it the window
    of the run before: an unkeyed forced run 18 s after a run that placed orders was taken."""
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    first = queries(repository, FixedClock(MONDAY_0925)).run_now(USER, strategy_id, "entry", True)
    assert first.status == "COMPLETED"
    soon = FixedClock(MONDAY_0925 + timedelta(seconds=10))
    with pytest.raises(RuntimeError):
        queries(repository, soon, Crashes()).run_now(
            USER, strategy_id, "entry", True, idempotency_key="a-new-key"
        )
    later = queries(repository, FixedClock(MONDAY_0925 + timedelta(seconds=18)))
    with pytest.raises(Conflict) as refused:
        later.run_now(USER, strategy_id, "entry", force=True)
    assert f"placed orders at 09:25:00 IST ({first.key})" in str(refused.value)  # that run's key
    assert "send it again after 09:26:00 IST" in str(refused.value)
    after = queries(repository, FixedClock(MONDAY_0925 + timedelta(seconds=61)))
    assert after.run_now(USER, strategy_id, "entry", force=True).status == "COMPLETED"
    assert len(paper_book(repository, FixedClock(MONDAY_0925), "ZERODHA123").order_book()) == 8


def test_a_forced_run_right_after_one_that_placed_nothing_runs(service, repository):
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    closed = FixedClock(datetime(2026, 3, 2, 16, 0, tzinfo=IST))  # after the close: refused
    assert queries(repository, closed).run_now(USER, strategy_id, "entry", True).status == "FAILED"
    again = queries(repository, FixedClock(MONDAY_0925))
    assert again.run_now(USER, strategy_id, "entry", force=True).status == "COMPLETED"


def test_a_claim_left_by_a_crashed_run_blocks_until_its_lease_runs_out(service, repository):
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    stores = engine_tables(repository, FixedClock(MONDAY_0925))
    crashed = "EXECUTION_ENTRY#x#20260302#Mcrashed"
    assert (
        stores.executions.claim_run(
            USER,
            ExecutionType.ENTRY,
            strategy_id,
            crashed,
            MONDAY_0925 - timedelta(minutes=1),
            MONDAY_0925 + timedelta(minutes=14),
        )
        is None
    )
    with pytest.raises(Conflict, match=f"is running \\({crashed}\\)"):
        queries(repository, FixedClock(MONDAY_0925)).run_now(USER, strategy_id, "entry", False)
    after_the_lease = FixedClock(MONDAY_0925 + timedelta(minutes=15))
    report = queries(repository, after_the_lease).run_now(USER, strategy_id, "entry", False)
    assert report.status == "COMPLETED"


def test_a_manual_entry_that_placed_orders_stops_the_scheduled_entry_of_the_day(
    service, repository
):
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    queries(repository, FixedClock(MONDAY_0925)).run_now(USER, strategy_id, "entry", False)
    platform = Platform(repository)
    platform.trigger(datetime(2026, 3, 2, 9, 29, 0, 400000, tzinfo=IST))
    assert platform.started == []
    scheduled = platform.record("ENTRY", strategy_id)
    assert scheduled["status"] == "SKIPPED"
    assert scheduled["reason"].startswith(
        f"skipped: the manual entry EXECUTION_ENTRY#{strategy_id}#20260302#M"
    )
    assert len(paper_book(repository, FixedClock(MONDAY_0925), "ZERODHA123").order_book()) == 4


def test_a_failed_manual_entry_gives_the_scheduled_entry_back(service, repository):
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    clock = FixedClock(MONDAY_0925)

    def unreachable(user_id, client_id, broker, mode):
        raise ConnectionError(f"{client_id}: the broker is unreachable")

    report = queries(repository, clock, executor(repository, clock, unreachable)).run_now(
        USER, strategy_id, "entry", False
    )
    assert report.status == "FAILED"
    platform = Platform(repository)
    at_0930 = datetime(2026, 3, 2, 9, 30, 0, 400000, tzinfo=IST)
    platform.trigger(at_0930)
    assert platform.record("ENTRY", strategy_id)["status"] == "COMPLETED"  # entered at 09:30
    assert len(paper_book(repository, clock, "ZERODHA123").order_book()) == 4


def test_a_manual_entry_while_the_scheduled_one_runs_is_refused(service, repository):
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    at_0930 = datetime(2026, 3, 2, 9, 30, 0, 400000, tzinfo=IST)
    Platform(repository).trigger(datetime(2026, 3, 2, 9, 29, tzinfo=IST))
    stores = engine_tables(repository, FixedClock(at_0930))
    record = stores.executions.get(USER, f"EXECUTION_ENTRY#{strategy_id}#20260302")
    assert stores.executions.claim(record.ref, at_0930)  # its executor has it
    with pytest.raises(Conflict, match="is running"):
        queries(repository, FixedClock(at_0930)).run_now(USER, strategy_id, "entry", True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"execution_type": "entry", "force": "yes"}, "force"),
        ({"execution_type": "entry", "force": 1}, "force"),
        ({"execution_type": "entry", "force": "true"}, "force"),
        ({"execution_type": "entry", "force": None}, "force"),
        ({"execution_type": True}, "execution_type"),
        ({"execution_type": 1}, "execution_type"),
        ({"execution_type": "entry", "strategy_id": ""}, "strategy_id"),
        ({"execution_type": "entry", "strategy_id": 7}, "strategy_id"),
    ],
)
def test_a_manual_run_takes_no_coerced_value_and_writes_nothing(
    iron_condor, alice, dynamodb, body, field
):
    _, strategy = iron_condor
    before = all_items(dynamodb)
    answer = alice.post(
        "/options/executions/manual", {"strategy_id": strategy["strategy_id"], **body}
    )
    assert answer.status == 422, answer.body
    assert field in {d["field"] for d in answer.error["details"]}
    assert all_items(dynamodb) == before


def test_a_manual_run_body_that_is_not_an_object_is_refused(iron_condor, alice, dynamodb):
    _, strategy = iron_condor
    before = all_items(dynamodb)
    body = [{"strategy_id": strategy["strategy_id"], "execution_type": "entry", "force": True}]
    answer = alice.post("/options/executions/manual", body)
    assert answer.status == 422, answer.body
    assert all_items(dynamodb) == before


def post_with_key(alice, body, key):
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {alice.user}",
        "Idempotency-Key": key,
    }
    reply = alice.gateway.handle("POST", "/options/executions/manual", headers, json.dumps(body))
    return reply.status, json.loads(reply.body)


def test_the_same_idempotency_key_is_answered_the_same_and_runs_once(iron_condor, alice):
    _, strategy = iron_condor
    body = {"strategy_id": strategy["strategy_id"], "execution_type": "entry", "force": True}
    first = post_with_key(alice, body, "3f1c9a2e-retry-1")
    again = post_with_key(alice, body, "3f1c9a2e-retry-1")
    assert first[0] == again[0] == 200
    assert again[1] == first[1]
    assert len(alice.get("/options/orders").body["items"]) == 8  # one run, not two
    other = post_with_key(alice, body, "3f1c9a2e-retry-2")  # a new key: a new forced run
    assert other[0] == 200
    assert len(alice.get("/options/orders").body["items"]) == 16


def test_an_idempotency_key_sent_with_another_request_or_malformed_is_refused(iron_condor, alice):
    _, strategy = iron_condor
    body = {"strategy_id": strategy["strategy_id"], "execution_type": "entry"}
    assert post_with_key(alice, body, "key-1")[0] == 200
    status, answer = post_with_key(alice, {**body, "force": True}, "key-1")
    assert status == 409
    assert "Idempotency-Key key-1 was sent with another request" in answer["error"]["message"]
    status, answer = post_with_key(alice, body, "no spaces allowed")
    assert status == 422
    assert answer["error"]["details"][0]["field"] == "Idempotency-Key"
    assert len(alice.get("/options/orders").body["items"]) == 8


class Crashes:
    """An executor that raises instead of answering (a bug, a timeout of its own)."""

    def execute(self, ref):
        raise RuntimeError("the executor crashed")


class ManualRecordTaken:
    """The executions table, where the manual run's own record is found there already (a run
    with the same key raced it): its create answers that it exists."""

    def __init__(self, table):
        self.table = table

    def __getattr__(self, name):
        return getattr(self.table, name)

    def create(self, record):
        return False if record.manual else self.table.create(record)


@pytest.mark.parametrize("failure", ["the executor raises", "the record is taken"])
def test_a_manual_entry_that_never_ran_gives_the_scheduled_entry_back(service, repository, failure):
    strategy_id = iron_condor_at(service, entry_time="09:30", exit_time="15:15")
    clock = FixedClock(MONDAY_0925)
    manual = queries(repository, clock, Crashes())
    if failure == "the record is taken":
        manual = queries(repository, clock)
        manual.executions = ManualRecordTaken(manual.executions)
    with pytest.raises(RuntimeError if failure == "the executor raises" else Conflict):
        manual.run_now(USER, strategy_id, "entry", False)
    scheduled = repository.get(USER, f"EXECUTION_ENTRY#{strategy_id}#20260302")
    assert (scheduled["status"], scheduled["workflow"]) == ("SCHEDULED", "PENDING")
    platform = Platform(repository)
    platform.trigger(datetime(2026, 3, 2, 9, 30, 0, 400000, tzinfo=IST))
    assert platform.record("ENTRY", strategy_id)["status"] == "COMPLETED"  # entered at 09:30


@pytest.mark.parametrize("spelling", ["ENTRY", "Entry", " entry "])
def test_the_execution_type_is_read_whatever_its_case(iron_condor, alice, spelling):
    _, strategy = iron_condor
    body = {"strategy_id": strategy["strategy_id"], "execution_type": spelling}
    answer = alice.post("/options/executions/manual", body)
    assert answer.status == 200, answer.body
    schedule = alice.get(f"/options/executions/schedule?type={spelling.strip()}")
    assert schedule.status == 200, schedule.body


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("/options/executions/schedule?date=1772409600", "date"),
        ("/options/executions/schedule?date=9999-12-31", "date"),
        ("/options/executions/schedule?type=1", "type"),
        ("/options/executions/history?from_date=1772409600", "from_date"),
        ("/options/executions/history?to_date=9999-12-31", "to_date"),
        ("/options/reports/daily?date=20260302", "date"),
        ("/options/reports/daily?date=1900-01-01", "date"),
        ("/options/orders?date=9999-12-31", "date"),
    ],
)
def test_a_date_or_type_in_a_query_is_strict(alice, query, param):
    answer = alice.get(query)
    assert answer.status == 422, answer.body
    assert param in {d["field"] for d in answer.error["details"]}, answer.error
