"""Per-user Freqtrade directories: exact layout, idempotence, and no path an id could abuse."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gentrade.freqtrade.userdir import UserDirectories, backtest_config, render_compose
from gentrade.identity import InvalidClerkId

IMAGE = "freqtradeorg/freqtrade:2026.9"
CLERK_ID = "user_2abcDEF123"
MAX_LENGTH_ID = "user_" + "Z9" * 29 + "a"  # 64 characters, the limit
EXPECTED_LAYOUT = {
    "docker-compose.yml",
    "user_data",
    "user_data/config.json",
    *(f"user_data/{sub}" for sub in ("backtest_results", "data", "freqaimodels", "hyperopt_results", "hyperopts",
                                     "logs", "notebooks", "plot", "strategies")),
}  # fmt: skip


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def dirs(data_dir: Path) -> UserDirectories:
    return UserDirectories(data_dir, IMAGE)


def tree(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*")}


def test_path_for_is_under_ft_userdata(dirs: UserDirectories, data_dir: Path) -> None:
    expected = data_dir.resolve() / "ft_userdata" / f"user_{CLERK_ID}"

    assert dirs.path_for(CLERK_ID) == expected
    assert dirs.user_data(CLERK_ID) == expected / "user_data"
    assert not (data_dir / "ft_userdata").exists()  # locating a directory creates nothing


def test_ensure_creates_the_exact_layout(dirs: UserDirectories, data_dir: Path) -> None:
    base = dirs.ensure(CLERK_ID)

    assert base == dirs.path_for(CLERK_ID)
    assert tree(base) == EXPECTED_LAYOUT  # and no temporary files left behind
    assert tree(data_dir) == {"ft_userdata", f"ft_userdata/user_{CLERK_ID}"} | {
        f"ft_userdata/user_{CLERK_ID}/{entry}" for entry in EXPECTED_LAYOUT
    }
    for sub in ("data", "strategies", "backtest_results"):
        assert (base / "user_data" / sub).is_dir()


def test_config_is_a_usable_freqtrade_backtest_config(dirs: UserDirectories) -> None:
    config = json.loads((dirs.ensure(CLERK_ID) / "user_data" / "config.json").read_text(encoding="utf-8"))

    assert config["stake_currency"] == "USDT"
    assert config["dry_run"] is True
    assert config["pairlists"] == [{"method": "StaticPairList"}]
    assert isinstance(config["entry_pricing"], dict)
    assert isinstance(config["exit_pricing"], dict)
    assert config["exchange"]["pair_whitelist"]
    assert all(pair.endswith("/USDT") for pair in config["exchange"]["pair_whitelist"])
    assert CLERK_ID in config["bot_name"]
    assert config["exchange"]["key"] == ""  # no exchange credentials, ever
    assert config["exchange"]["secret"] == ""


def test_config_is_named_per_user(dirs: UserDirectories) -> None:
    other = "user_someoneElse"
    mine = json.loads((dirs.ensure(CLERK_ID) / "user_data" / "config.json").read_text(encoding="utf-8"))
    theirs = json.loads((dirs.ensure(other) / "user_data" / "config.json").read_text(encoding="utf-8"))

    assert mine["bot_name"] != theirs["bot_name"]
    assert other in theirs["bot_name"]
    assert {k: v for k, v in mine.items() if k != "bot_name"} == {k: v for k, v in theirs.items() if k != "bot_name"}


def test_compose_file_names_the_image_and_mounts_user_data(dirs: UserDirectories) -> None:
    compose = (dirs.ensure(CLERK_ID) / "docker-compose.yml").read_text(encoding="utf-8")

    assert f'image: "{IMAGE}"' in compose
    assert '"./user_data:/freqtrade/user_data"' in compose
    assert "services:" in compose
    assert "freqtrade:" in compose
    assert CLERK_ID in compose
    assert "{{" not in compose
    assert "{%" not in compose


def test_compose_image_is_escaped_inside_its_quotes() -> None:
    compose = render_compose(CLERK_ID, 'evil"\nprivileged: true')

    assert "\nprivileged: true" not in compose
    assert 'image: "evil\\"\\nprivileged: true"' in compose


def test_ensure_is_idempotent(dirs: UserDirectories) -> None:
    base = dirs.ensure(CLERK_ID)
    before = {path: path.read_bytes() for path in base.rglob("*") if path.is_file()}

    assert dirs.ensure(CLERK_ID) == base
    assert dirs.ensure(CLERK_ID) == base

    assert tree(base) == EXPECTED_LAYOUT
    assert {path: path.read_bytes() for path in base.rglob("*") if path.is_file()} == before


def test_ensure_keeps_the_users_files(dirs: UserDirectories) -> None:
    base = dirs.ensure(CLERK_ID)
    config = base / "user_data" / "config.json"
    edited = json.loads(config.read_text(encoding="utf-8")) | {"max_open_trades": 7}
    config.write_text(json.dumps(edited), encoding="utf-8")
    strategy = base / "user_data" / "strategies" / "MyStrategy.py"
    strategy.write_text("class MyStrategy: ...\n", encoding="utf-8")

    dirs.ensure(CLERK_ID)

    assert json.loads(config.read_text(encoding="utf-8"))["max_open_trades"] == 7
    assert strategy.read_text(encoding="utf-8") == "class MyStrategy: ...\n"


def test_ensure_restores_missing_parts(dirs: UserDirectories) -> None:
    base = dirs.ensure(CLERK_ID)
    (base / "user_data" / "backtest_results").rmdir()
    (base / "docker-compose.yml").unlink()

    dirs.ensure(CLERK_ID)

    assert tree(base) == EXPECTED_LAYOUT


def test_delete_removes_the_directory_once(dirs: UserDirectories) -> None:
    base = dirs.ensure(CLERK_ID)
    other = dirs.ensure("user_neighbour")

    assert dirs.delete(CLERK_ID) is True
    assert not base.exists()
    assert dirs.delete(CLERK_ID) is False
    assert tree(other) == EXPECTED_LAYOUT  # the neighbour is untouched


def test_delete_of_a_user_without_directory_returns_false(dirs: UserDirectories, data_dir: Path) -> None:
    assert dirs.delete(CLERK_ID) is False
    assert tree(data_dir) == set()


def test_max_length_id_works(dirs: UserDirectories) -> None:
    assert len(MAX_LENGTH_ID) == 64

    base = dirs.ensure(MAX_LENGTH_ID)

    assert base.name == f"user_{MAX_LENGTH_ID}"
    assert tree(base) == EXPECTED_LAYOUT
    assert dirs.delete(MAX_LENGTH_ID) is True


BAD_IDS = [
    "../user_x",
    "user_../../etc",
    "user_a/b",
    "user_a\\b",
    "user_a\x00b",
    "",
    "user_",
    "user_" + "a" * 60,  # 65 characters: one over the limit
    "USER_abc",
    "user_abc.",
    " user_abc",
    "user_abc\n",
    "user_abc ",
    "user_..",
    "user_\u0430bc",  # a Cyrillic "a"
    "/etc/passwd",
    None,
    ["user_abc"],
]

OPERATIONS: dict[str, Callable[[UserDirectories, Any], object]] = {
    "path_for": lambda d, cid: d.path_for(cid),
    "user_data": lambda d, cid: d.user_data(cid),
    "ensure": lambda d, cid: d.ensure(cid),
    "delete": lambda d, cid: d.delete(cid),
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("clerk_id", BAD_IDS, ids=repr)
def test_bad_ids_are_refused_before_touching_the_file_system(
    tmp_path: Path, data_dir: Path, operation: str, clerk_id: object
) -> None:
    # Bait: a user directory and an outside folder a traversal could reach.
    dirs = UserDirectories(data_dir, IMAGE)
    dirs.ensure("user_x")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0\n", encoding="utf-8")
    before = {path: (path.is_dir(), path.stat().st_mtime_ns) for path in tmp_path.rglob("*")}

    with pytest.raises(InvalidClerkId):
        OPERATIONS[operation](dirs, clerk_id)

    assert {path: (path.is_dir(), path.stat().st_mtime_ns) for path in tmp_path.rglob("*")} == before


@pytest.mark.parametrize("clerk_id", ["../user_x", "user_a/b", "USER_abc", ""])
def test_rendering_helpers_refuse_bad_ids(clerk_id: str) -> None:
    with pytest.raises(InvalidClerkId):
        render_compose(clerk_id, IMAGE)
    with pytest.raises(InvalidClerkId):
        backtest_config(clerk_id)


def test_symlinked_user_directory_escaping_the_root_is_refused(dirs: UserDirectories, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me", encoding="utf-8")
    dirs.root.mkdir(parents=True)
    (dirs.root / f"user_{CLERK_ID}").symlink_to(outside, target_is_directory=True)

    for operation in OPERATIONS.values():
        with pytest.raises(ValueError, match="escapes"):
            operation(dirs, CLERK_ID)

    assert [p.name for p in outside.iterdir()] == ["precious.txt"]


def test_config_json_passes_freqtrades_own_schema_validation() -> None:
    """The user's config.json is a complete, valid Freqtrade config (Freqtrade's validator says so)."""
    from freqtrade.configuration.config_validation import validate_config_schema

    from gentrade.freqtrade.userdir import backtest_config

    validate_config_schema(backtest_config("user_valid"), preliminary=False)
