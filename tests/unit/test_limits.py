"""The backtest limits: RLIMIT_DATA's calibration, the size estimate, the cgroup plumbing and how a run that hit a
limit is told apart and classified. The measured figures are docs/performance.md's ("Backtest memory")."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gentrade.freqtrade.jobs import BacktestJob, RunOutcome
from gentrade.freqtrade.limits import (
    MIB,
    CgroupPlace,
    ChildLimits,
    MemoryCgroup,
    _inside,
    _mounts,
    _own_cgroups,
    candles_per_pair,
    cpu_limit_seconds,
    data_limit_bytes,
    estimated_peak_mib,
    fits,
    memory_limit_message,
    says_out_of_memory,
    sweep,
    time_limit_message,
    too_big_message,
)
from gentrade.services.backtest_runs import failure_of

DAY_5M = 288
DAY_1M = 1440
# (pairs, candles per pair, VmHWM MiB, polled VmData peak MiB) of the stock CLI, 2 CPUs, RSI strategy.
MEASURED = [
    (1, 30 * DAY_5M, 389, 1472),
    (1, 180 * DAY_5M, 449, 1519),
    (1, 365 * DAY_5M, 505, 1602),
    (4, 30 * DAY_5M, 413, 1526),
    (4, 180 * DAY_5M, 586, 1677),
    (4, 365 * DAY_5M, 782, 1865),
    (8, 30 * DAY_5M, 445, 1550),
    (8, 180 * DAY_5M, 749, 1835),
    (8, 365 * DAY_5M, 1117, 2183),
    (8, 730 * DAY_5M, 1867, 2918),
    (1, 365 * DAY_1M, 1031, 2140),
    (1, 730 * DAY_1M, 1651, 2727),
    (2, 730 * DAY_1M, 2512, 3572),
]


@pytest.mark.parametrize(("pairs", "candles", "hwm", "vm_data"), MEASURED)
def test_no_measured_peak_is_above_its_estimate(pairs: int, candles: int, hwm: int, vm_data: int) -> None:
    assert hwm <= estimated_peak_mib(pairs, candles) <= hwm * 1.12 + 30  # above, and not wastefully so


@pytest.mark.parametrize(("pairs", "candles", "hwm", "vm_data"), MEASURED)
def test_rlimit_data_lets_every_run_through_that_fits_its_resident_limit(
    pairs: int, candles: int, hwm: int, vm_data: int
) -> None:
    """A run whose resident peak is within memory_mb stays within RLIMIT_DATA (measured on 2 CPUs)."""
    assert vm_data * MIB < data_limit_bytes(hwm, cpu_count=2)


def test_the_old_rlimit_data_of_memory_mb_failed_the_one_year_8_pair_backtest() -> None:
    """Issue 16: 8 pairs x 365 days of 5m peaks at ~1.1 GB resident but ~2.2 GB of VmData."""
    one_year = next(row for row in MEASURED if row[:2] == (8, 365 * DAY_5M))
    assert one_year[3] > 2048 > one_year[2]
    assert data_limit_bytes(2048, cpu_count=2) > one_year[3] * MIB


def test_rlimit_data_is_memory_mb_plus_a_documented_allowance() -> None:
    assert data_limit_bytes(2048, cpu_count=2) == (2048 + 1024 + 2 * 96 + 128) * MIB
    assert data_limit_bytes(4096, cpu_count=2) - data_limit_bytes(2048, cpu_count=2) == 2048 * MIB
    assert data_limit_bytes(2048, cpu_count=8) - data_limit_bytes(2048, cpu_count=2) == 6 * 96 * MIB


def test_every_request_the_api_accepts_by_default_fits_and_bigger_ones_do_not() -> None:
    largest = candles_per_pair(731, 300, startup_candles=500)  # 730 days apart, both days, a long start-up
    assert fits(8, largest, 2048)
    assert estimated_peak_mib(8, largest) < 2048
    assert not fits(2, candles_per_pair(731, 60), 2048)  # 2 pairs of 1m for two years: 2.5 GB measured
    assert not fits(20, largest, 2048)
    assert fits(20, largest, 8192)


def test_candles_per_pair_count_the_range_and_the_start_up() -> None:
    assert candles_per_pair(1, 300) == 288
    assert candles_per_pair(365, 3600, startup_candles=30) == 365 * 24 + 30
    assert candles_per_pair(1, 7 * 3600) == 4  # a partial candle counts


def test_the_cpu_limit_is_just_above_the_timeout() -> None:
    assert cpu_limit_seconds(5) == 15
    assert cpu_limit_seconds(900) == 990


def test_messages_name_the_limit_and_what_to_change() -> None:
    for message in (memory_limit_message(2048), time_limit_message(900), too_big_message(8, 400_000, 2048)):
        assert "fewer pairs" in message
        assert "shorter date range" in message
        assert "longer timeframe" in message
    assert "2048 MiB" in memory_limit_message(2048)
    assert "900 s" in time_limit_message(900)
    assert "2048 MiB" in too_big_message(8, 400_000, 2048)
    assert "8 pairs" in too_big_message(8, 400_000, 2048)


@pytest.mark.parametrize(
    "tail",
    [
        "numpy._core._exceptions._ArrayMemoryError: Unable to allocate 9.65 MiB for an array with shape (1264800,)",
        "MemoryError",
        "RuntimeError: can't start new thread",
        "terminate called after throwing an instance of 'std::bad_alloc'",
        "OSError: [Errno 12] Cannot allocate memory",
        "[gentrade] killed: out of memory (limit 2048 MiB)",
    ],
)
def test_a_failed_allocation_in_the_log_is_out_of_memory(tail: str) -> None:
    assert says_out_of_memory(f"2026-12-04 - freqtrade - ERROR - Fatal exception!\n{tail}")


@pytest.mark.parametrize("tail", ["ValueError: boom in populate", "KeyError: 'rsi'", "memory usage: 12 MiB", ""])
def test_a_strategys_own_error_is_not_out_of_memory(tail: str) -> None:
    assert not says_out_of_memory(tail)


def _job(**changes: object) -> BacktestJob:
    values: dict[str, object] = {
        "backtest_id": uuid.uuid4(),
        "strategy_name": "S",
        "user_data_dir": Path("/u"),
        "config_files": (),
        "datadir": Path("/d"),
        "results_dir": Path("/u/r"),
        "timerange": "20260101-20260201",
        "timeframe": "5m",
        "pairs": ("BTC/USDT",),
        "timeout_seconds": 900,
        "memory_mb": 2048,
    }
    values.update(changes)
    return BacktestJob(**values)  # type: ignore[arg-type]


def _outcome(**changes: object) -> RunOutcome:
    values: dict[str, object] = {"exit_code": 1, "timed_out": False, "cancelled": False, "seconds": 14.0}
    values.update({"log_tail": "", **changes})
    return RunOutcome(**values)  # type: ignore[arg-type]


def test_a_run_out_of_memory_is_resource_limit_never_strategy_error() -> None:
    code, message = failure_of(_outcome(exit_code=-9, out_of_memory=True), _job())
    assert code == "resource_limit"
    assert message == memory_limit_message(2048)


def test_a_run_over_time_is_resource_limit_and_says_what_to_change() -> None:
    code, message = failure_of(_outcome(exit_code=None, timed_out=True), _job(timeout_seconds=40))
    assert code == "resource_limit"
    assert message == time_limit_message(40)


def test_a_strategy_that_fails_on_its_own_is_strategy_error() -> None:
    assert failure_of(_outcome(exit_code=2), _job()) == ("strategy_error", "Freqtrade exited with 2")


def test_child_limits_cross_the_fork_servers_pipe_unchanged() -> None:
    limits = ChildLimits(nice=10, data_bytes=3 << 30, cpu_seconds=990, cgroup="/sys/fs/cgroup/memory/x")
    assert ChildLimits.from_dict(limits.as_dict()) == limits
    assert ChildLimits.from_dict({"nice": 10, "data_bytes": 1, "cpu_seconds": 2}).cgroup is None


MOUNTINFO = """\
22 28 0:20 / /sys rw,nosuid - sysfs sysfs rw
30 22 0:25 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
35 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 30 0:31 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 30 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""


def test_cgroup_mounts_and_own_cgroups_are_read_from_proc(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(MOUNTINFO)
    own = tmp_path / "cgroup"
    own.write_text("4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n")
    assert _mounts(mountinfo) == [
        ("/", "/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
        ("/", "/sys/fs/cgroup/cpu", "cgroup", "rw,cpu"),
        ("/", "/sys/fs/cgroup/unified", "cgroup2", "rw"),
    ]
    assert _own_cgroups(own) == {"memory": "/process_api/abc", "cpu": "/", "cpuacct": "/", "": "/"}
    assert _inside("/sys/fs/cgroup/memory", "/", "/process_api/abc") == Path("/sys/fs/cgroup/memory/process_api/abc")
    # A container's mount shows only its own subtree: its root is its cgroup.
    assert _inside("/sys/fs/cgroup", "/docker/c1", "/docker/c1/worker") == Path("/sys/fs/cgroup/worker")


@pytest.mark.parametrize(
    ("version", "files", "killed", "peak"),
    [
        (1, {"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"}, True, None),
        (1, {"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"}, False, None),
        (1, {"memory.oom_control": "oom_kill_disable 0\n", "memory.failcnt": "3"}, True, None),  # before Linux 4.13
        (1, {"memory.oom_control": "oom_kill 0\n", "memory.max_usage_in_bytes": str(300 * MIB)}, False, 300 * MIB),
        (2, {"memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n", "memory.peak": "1024"}, True, 1024),
        (2, {"memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"}, False, None),
    ],
)
def test_an_oom_kill_is_read_off_the_cgroup(
    tmp_path: Path, version: int, files: dict[str, str], killed: bool, peak: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    cgroup = MemoryCgroup(tmp_path, version, 2048)
    assert cgroup.oom_killed() is killed
    assert cgroup.peak_bytes() == peak


def test_a_cgroup_gets_its_limit_and_no_swap(tmp_path: Path) -> None:
    (tmp_path / "memory.limit_in_bytes").write_text("9223372036854771712")
    cgroup = MemoryCgroup.make(CgroupPlace(tmp_path, 1), 256)
    assert cgroup is not None
    assert cgroup.path.parent == tmp_path
    assert cgroup.path.name.startswith("gentrade-backtest-")
    assert (cgroup.path / "memory.limit_in_bytes").read_text() == str(256 * MIB)
    assert (cgroup.path / "memory.memsw.limit_in_bytes").read_text() == str(256 * MIB)
    v2 = MemoryCgroup.make(CgroupPlace(tmp_path, 2), 512)
    assert v2 is not None
    assert (v2.path / "memory.max").read_text() == str(512 * MIB)
    assert (v2.path / "memory.swap.max").read_text() == "0"
    assert (v2.path / "memory.oom.group").read_text() == "1"


def test_cgroups_of_dead_workers_are_swept(tmp_path: Path) -> None:
    dead = tmp_path / "gentrade-backtest-999999999-abc"  # no such process
    mine = tmp_path / "gentrade-backtest-1-def"  # pid 1 lives
    other = tmp_path / "something-else"
    for folder in (dead, mine, other):
        folder.mkdir()
    sweep(CgroupPlace(tmp_path, 1))
    assert not dead.exists()
    assert mine.exists()
    assert other.exists()
