"""The local platform as an operator meets it: kill -9 right after acknowledged writes, a damaged
state file, a second platform on the same data dir, SIGTERM while the engine is busy, a burst of
concurrent requests. Bounds are generous: these run on a loaded CI machine."""

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.conftest import ROOT, Client, Platform
from tests.journey import ALLOCATIONS, BASKET, BROKER_ACCOUNTS, LEGS, STRATEGY

pytestmark = pytest.mark.e2e


def _killed(platform: Platform) -> None:
    """kill -9 of the whole process group: no handler runs, nothing is saved on the way out."""
    if platform.process and platform.process.poll() is None:
        os.killpg(platform.process.pid, signal.SIGKILL)
        platform.process.wait()
    # The killed platform's outputs.json stays behind; Platform.start waits for a fresh one.
    (platform.data_dir / "outputs.json").unlink(missing_ok=True)


def _strategy(client: Client, basket_id: str, n: int) -> str:
    created = client.post(
        f"/options/baskets/{basket_id}/strategies", {**STRATEGY, "strategy_name": f"IC {n}"}
    )
    assert created.status_code == 201, created.text
    strategy_id: str = created.json()["strategy_id"]
    return strategy_id


def test_kill_9_right_after_acknowledged_writes_then_a_restart_misses_nothing(tmp_path):
    platform = Platform(tmp_path).start()
    try:
        asha = Client(platform, platform.sign_up("asha"))
        basket_ids = []
        for name in ("Income", "Hedges"):
            basket = asha.post("/options/baskets", {**BASKET, "basket_name": name})
            assert basket.status_code == 201, basket.text
            basket_ids.append(basket.json()["basket_id"])
        # 12 strategies, 6 to a basket (a basket holds at most 10)
        strategy_ids = {_strategy(asha, basket_ids[n % 2], n) for n in range(12)}
        platform.sign_up("vikram")  # a Cognito sign-up acknowledged a moment before the kill
    finally:
        _killed(platform)

    again = Platform(tmp_path).start()
    try:
        # Both users sign in with their passwords, and asha's data (keyed by her sub) is hers.
        asha = Client(again, again.sign_in("asha"))
        vikram = Client(again, again.sign_in("vikram"))
        listed = asha.get("/options/strategies")
        assert listed.status_code == 200, listed.text
        assert {s["strategy_id"] for s in listed.json()["items"]} >= strategy_ids
        for basket_id in basket_ids:
            assert asha.get(f"/options/baskets/{basket_id}").status_code == 200
        assert vikram.get("/options/strategies").json()["items"] == []
    finally:
        again.stop()


def test_a_damaged_state_file_stops_the_start_naming_the_file_without_a_traceback(tmp_path):
    (tmp_path / "aws-state.pickle").write_bytes(b"OSPSNAP1 and then nothing that makes sense")
    finished = subprocess.run(
        [sys.executable, "-m", "local_platform", "--data-dir", str(tmp_path), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
        check=False,
    )
    assert finished.returncode != 0
    assert str(tmp_path / "aws-state.pickle") in finished.stderr
    assert "Traceback" not in finished.stderr + finished.stdout
    assert not (tmp_path / "outputs.json").exists()


def test_a_damaged_resources_file_stops_the_start_naming_the_file_and_the_recovery(tmp_path):
    (tmp_path / "resources.json").write_text("{garbage")
    finished = subprocess.run(
        [sys.executable, "-m", "local_platform", "--data-dir", str(tmp_path), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
        check=False,
    )
    assert finished.returncode == 1
    assert str(tmp_path / "resources.json") in finished.stderr
    assert "found again by their names" in finished.stderr
    assert "Traceback" not in finished.stderr + finished.stdout
    assert not (tmp_path / "outputs.json").exists()


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    """A platform a minute before the entry, at 60x, with the spec's Iron Condor to run."""
    platform = Platform(
        tmp_path_factory.mktemp("busy-platform"), "2026-03-02T09:29:00+05:30", 60
    ).start()
    try:
        asha = Client(platform, platform.sign_up("asha"))
        for account in BROKER_ACCOUNTS:
            assert asha.post("/options/broker-accounts", account).status_code == 201
        sid = _strategy(asha, asha.post("/options/baskets", BASKET).json()["basket_id"], 0)
        assert asha.post(f"/options/strategies/{sid}/legs", LEGS).status_code == 201
        advanced = asha.post(f"/options/strategies/{sid}/allocations/advanced", ALLOCATIONS)
        assert advanced.status_code == 201, advanced.text
        yield platform, asha
    finally:
        platform.stop()


def test_a_burst_of_100_concurrent_requests_is_answered_every_one(busy):
    platform, asha = busy
    start = threading.Barrier(100)

    def one(n: int) -> int:
        headers = {"Authorization": f"Bearer {asha.token}"}
        start.wait()
        # A connection of its own each, as a burst of browsers would open.
        if n % 2:
            answer = requests.get(platform.api + "/options/baskets", headers=headers, timeout=600)
        else:
            answer = requests.post(
                platform.api + "/options/baskets",
                json={**BASKET, "basket_name": f"burst {n}"},
                headers=headers,
                timeout=600,
            )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(one, range(100)))
    assert statuses.count(201) == 50, statuses
    assert statuses.count(200) == 50, statuses


def test_a_second_platform_on_the_same_data_dir_is_refused_and_touches_nothing(busy):
    platform = busy[0]
    outputs = (platform.data_dir / "outputs.json").read_bytes()
    second = subprocess.run(
        [
            str(ROOT / "deploy.sh"),
            "-e",
            "local",
            "--data-dir",
            str(platform.data_dir),
            "--port",
            "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
        check=False,
    )
    assert second.returncode != 0
    assert f"PID {platform.process.pid}" in second.stderr
    assert str(platform.data_dir) in second.stderr
    assert (platform.data_dir / "outputs.json").read_bytes() == outputs
    assert requests.get(platform.api + "/local/engine", timeout=60).status_code == 200


def test_sigterm_with_the_engine_busy_exits_within_seconds(busy):
    platform = busy[0]
    # The busy state this test is about, required (a loaded CI machine may take minutes to get
    # there, so the deadline is wide; it is not a measure of anything).
    deadline = time.monotonic() + 600
    jobs_run = platform.engine()["jobs_run"]
    while jobs_run < 20:
        if time.monotonic() > deadline:
            pytest.fail(
                f"the engine ran {jobs_run} jobs in 10 minutes, never the 20 this test stops it after"
            )
        time.sleep(0.5)  # the entry and the timer's ticks are running
        jobs_run = platform.engine()["jobs_run"]
    asked = time.monotonic()
    os.killpg(platform.process.pid, signal.SIGTERM)
    platform.process.wait(timeout=120)
    took = time.monotonic() - asked
    assert platform.process.returncode == 0
    assert took < 15, f"SIGTERM took {took:.1f} s"
    assert not (platform.data_dir / "outputs.json").exists()
