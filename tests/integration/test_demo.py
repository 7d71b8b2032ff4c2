"""``make demo`` keeps working: the whole journey on the embedded defaults, with no services of this machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_whole_journey(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "GENTRADE_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "gentrade.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for step in ("1/9", "3/9", "5/9", "6/9", "7/9", "Equity curve", "8/9", "9/9", "Done"):
        assert step in result.stdout
    assert "finished" in result.stdout
    assert "] 100 %" in result.stdout  # the progress bar of a running backtest reached its end
    coach = result.stdout[result.stdout.index("8/9") : result.stdout.index("9/9")]
    assert "trades ended at the stop loss" in coach  # answered from the figures
    assert "I've revised the draft: RsiStrategyV2" in coach  # a name the user does not have yet
    comparison = result.stdout[result.stdout.index("9/9") :]
    assert "RsiStrategyV2" in comparison
    assert "Stop-loss exits" in comparison
    charts = list((tmp_path / "data" / "demo").glob("equity-*.png"))
    assert len(charts) == 1
    assert charts[0].read_bytes().startswith(b"\x89PNG")


def test_the_demo_fails_clearly_when_the_stack_cannot_start(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data folder should be")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "GENTRADE_DATA_DIR": str(blocked)}
    result = subprocess.run(
        [sys.executable, "-m", "gentrade.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "demo failed: cannot use the data folder" in result.stderr
