"""Every host keeps its own copy of users' files, written from the database and removed once the database no
longer has them; results are served from the database (issue 17). The cluster of separate hosts is
``test_cluster.py``; here one host, and one worker whose folder the test changes behind its back.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import uuid
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gentrade import create_app
from gentrade.extensions import db
from gentrade.models import BacktestArchive, Strategy
from gentrade.runtime import runtime
from gentrade.services import backtest_runs, host_files, users
from gentrade.settings import Settings
from gentrade.work_queue import publish_prune, publish_run
from tests.backtests import BACKTESTS, FINAL, add_backtest_row, deploy_strategy, start_backtest, wait_for_backtest
from tests.clerk import Tokens
from tests.concurrency import wait_until
from tests.spies import user_dir
from tests.stack.gunicorn import gunicorn

pytestmark = pytest.mark.postgres


CODE = "# a strategy as stored\n"


def strategy_row(app: Flask, clerk_id: str, name: str, code: str = CODE) -> str:
    """A stored strategy (row only: no file anywhere); its id."""
    with app.app_context():
        user = users.get_or_provision(clerk_id)
        assert user is not None
        strategy = Strategy(
            user_id=user.id, name=name, code=code, file_path=f"user_data/strategies/{name}.py", draft={}
        )
        db.session.add(strategy)
        db.session.commit()
        return str(strategy.id)


# --- one host's copies, against the database ----------------------------------------------------------


def test_a_host_that_never_saw_the_user_writes_their_folder_and_the_stored_code(app: Flask, data_dir: Path) -> None:
    strategy_row(app, "user_newhere", "Stored")
    folder = user_dir(data_dir, "user_newhere")
    shutil.rmtree(folder)  # as on a worker host that has never run a backtest of this user
    with app.app_context():
        path = host_files.materialize("user_newhere", "Stored", CODE)
        assert path == folder / "user_data" / "strategies" / "Stored.py"
        assert path.read_text() == CODE
        assert (folder / "user_data" / "config.json").is_file()  # the whole folder, as provisioning makes it
        assert (folder / "user_data" / "backtest_results").is_dir()

        written = path.stat().st_mtime_ns
        os.utime(path, ns=(written - 10**9, written - 10**9))
        host_files.materialize("user_newhere", "Stored", CODE)
        assert path.stat().st_mtime_ns == written - 10**9  # the same code: not written again

        path.write_text("# an older copy\n")
        host_files.materialize("user_newhere", "Stored", CODE)
        assert path.read_text() == CODE  # the database wins


def test_a_sweep_removes_what_the_database_no_longer_has_and_nothing_else(app: Flask, data_dir: Path) -> None:
    kept_id = strategy_row(app, "user_sweep", "Kept")
    kept_backtest = add_backtest_row(app, kept_id)
    alice = user_dir(data_dir, "user_sweep") / "user_data"
    (alice / "strategies" / "Kept.py").write_text(CODE)
    (alice / "strategies" / "Deleted.py").write_text(CODE)  # its row is gone
    (alice / "backtest_results" / kept_backtest).mkdir()
    gone_backtest = alice / "backtest_results" / str(uuid.uuid4())
    gone_backtest.mkdir()
    not_a_backtest = alice / "backtest_results" / "notes"
    not_a_backtest.mkdir()
    in_progress = alice / "strategies" / ".Kept.py.x1y2.tmp"  # another process's atomic write
    in_progress.write_text(CODE)
    deleted_user = user_dir(data_dir, "user_deletedmeanwhile")
    (deleted_user / "user_data").mkdir(parents=True)
    not_a_user = data_dir / "ft_userdata" / "something_else"
    not_a_user.mkdir()
    market_data = data_dir / "market_data"
    market_data.mkdir(exist_ok=True)

    with app.app_context():
        assert host_files.sweep() == 3

    assert (alice / "strategies" / "Kept.py").is_file()
    assert not (alice / "strategies" / "Deleted.py").exists()
    assert (alice / "backtest_results" / kept_backtest).is_dir()
    assert not gone_backtest.exists()
    assert not_a_backtest.is_dir()
    assert in_progress.is_file()
    assert not deleted_user.exists()
    assert not_a_user.is_dir()
    assert market_data.is_dir()
    with app.app_context():
        assert host_files.sweep() == 0
        assert host_files.sweep("user_sweep") == 0


def test_an_archive_over_the_limit_is_not_stored(tmp_path: Path) -> None:
    application = create_app(Settings(_env_file=None, data_dir=tmp_path, result_archive_max_mb=1))
    fits, too_big = tmp_path / "fits.zip", tmp_path / "too-big.zip"
    fits.write_bytes(b"z" * 1024 * 1024)
    too_big.write_bytes(b"z" * (1024 * 1024 + 1))
    with application.app_context():
        archive = backtest_runs._archive(fits)
        assert archive is not None
        assert archive.filename == "fits.zip"
        assert len(archive.content) == 1024 * 1024
        assert backtest_runs._archive(too_big) is None


def test_a_finished_backtest_without_a_stored_archive_says_why(client: FlaskClient, app: Flask, tokens: Tokens) -> None:
    strategy_id = strategy_row(app, "user_alice", "Older")
    backtest_id = add_backtest_row(app, strategy_id, status="finished")
    response = client.get(f"{BACKTESTS}/{backtest_id}/result", headers=tokens.headers())
    assert response.status_code == 404
    assert "not stored" in response.json["message"]
    assert "64 MiB" in response.json["message"]


def test_an_api_host_sweeps_its_folder_when_its_workers_start(
    app: Flask, postgres_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    """API hosts hear no broadcast: what another API host deleted goes from this one when its gunicorn workers
    start (and hourly after that)."""
    strategy_row(app, "user_stillhere", "Kept")
    deleted_elsewhere = user_dir(data_dir, "user_deletedelsewhere") / "user_data"
    deleted_elsewhere.mkdir(parents=True)
    with gunicorn(postgres_url, data_dir, clerk_key, tmp_path / "gunicorn.log"):
        wait_until(lambda: not deleted_elsewhere.parent.exists())
    assert user_dir(data_dir, "user_stillhere").is_dir()


# --- with a real worker ---------------------------------------------------------------------------------


def test_the_worker_runs_the_stored_code_whatever_its_folder_holds(
    api: FlaskClient, tokens: Tokens, data_dir: Path
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    stored = api.get(f"/api/v1/strategies/{strategy_id}", headers=tokens.headers()).json
    folder = user_dir(data_dir)
    shutil.rmtree(folder)  # a worker host that has never seen this user
    done = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id)["id"], FINAL)
    assert done["status"] == "finished", done["error"]
    strategy_file = folder / stored["file_path"]
    assert strategy_file.read_text() == stored["code"]

    strategy_file.write_text(stored["code"].replace("class ", "class Stale", 1))  # an older copy on this host
    again = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id)["id"], FINAL)
    assert again["status"] == "finished", again["error"]
    assert strategy_file.read_text() == stored["code"]
    assert again["summary"]["total_trades"] == done["summary"]["total_trades"]


def test_the_result_archive_downloads_from_the_database(
    api: FlaskClient, tokens: Tokens, data_dir: Path, backtest_app: Flask
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    running = start_backtest(api, tokens, strategy_id)
    early = api.get(f"{BACKTESTS}/{running['id']}/result", headers=tokens.headers())
    assert early.status_code == 409, early.json
    assert "only a finished backtest" in early.json["message"]
    done = wait_for_backtest(api, tokens, running["id"], FINAL)
    assert done["status"] == "finished", done["error"]
    on_disk = user_dir(data_dir) / done["result_path"]
    expected = on_disk.read_bytes()
    shutil.rmtree(on_disk.parent)  # served by an API host that never had the worker's files

    url = f"{BACKTESTS}/{done['id']}/result"
    response = api.get(url, headers=tokens.headers())
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f"attachment; filename={on_disk.name}"
    assert "private" in response.headers["Cache-Control"]
    assert response.data == expected
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert any(name.endswith(".json") for name in archive.namelist())

    etag = response.headers["ETag"]
    assert api.get(url, headers={**tokens.headers(), "If-None-Match": etag}).status_code == 304
    partial = api.get(url, headers={**tokens.headers(), "Range": "bytes=0-9"})
    assert partial.status_code == 206
    assert partial.data == expected[:10]

    assert api.get(url, headers=tokens.headers("user_bob")).status_code == 403
    assert api.get(f"{BACKTESTS}/{uuid.uuid4()}/result", headers=tokens.headers()).status_code == 404
    assert api.get(url).status_code == 401

    assert api.delete(f"/api/v1/strategies/{strategy_id}", headers=tokens.headers()).status_code == 204
    with backtest_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BacktestArchive)) == 0


def test_a_deletion_reaches_the_worker_hosts(
    api: FlaskClient, tokens: Tokens, data_dir: Path, backtest_app: Flask
) -> None:
    """The API removes what its own disk has; the broadcast has each worker host sweep the user against the
    database. Entries only the worker's sweep removes show that it ran."""
    kept, deleted = deploy_strategy(api, tokens, name="KeptOne"), deploy_strategy(api, tokens, name="GoesAway")
    done = wait_for_backtest(api, tokens, start_backtest(api, tokens, deleted)["id"], FINAL)
    assert done["status"] == "finished", done["error"]
    folder = user_dir(data_dir) / "user_data"
    ghost_file = folder / "strategies" / "DeletedElsewhere.py"
    ghost_file.write_text(CODE)
    ghost_results = folder / "backtest_results" / str(uuid.uuid4())
    ghost_results.mkdir()

    assert api.delete(f"/api/v1/strategies/{deleted}", headers=tokens.headers()).status_code == 204
    wait_until(lambda: not ghost_file.exists() and not ghost_results.exists())
    assert (folder / "strategies" / "KeptOne.py").is_file()
    assert api.get(f"/api/v1/strategies/{kept}", headers=tokens.headers()).status_code == 200
    with backtest_app.app_context():
        assert runtime().user_dirs.clerk_ids() == ["user_alice"]


def test_a_broker_connection_that_died_is_replaced_when_publishing(
    backtest_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """After a broker restart the pooled connection is dead: the next publish (a deletion's broadcast, a backtest)
    takes a new one instead of failing (found by the cluster test: a lost broadcast left a user's files)."""
    celery = backtest_app.extensions["celery"]

    def kill_pooled_connection() -> None:
        with celery.pool.acquire(block=True) as connection:
            connection.connection.transport.sock.shutdown(socket.SHUT_RDWR)

    with backtest_app.app_context():
        publish_prune("user_alice")  # the pool now holds a connection
        kill_pooled_connection()
        publish_prune("user_alice")
        kill_pooled_connection()
        publish_run(uuid.uuid4())  # a backtest that does not exist: a worker would only find it missing
    assert "could not tell the worker hosts" not in caplog.text  # the broadcast is best effort: it logs a failure
