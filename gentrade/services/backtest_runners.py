"""Which runner and market-data cache this worker uses, built from its settings: checked when the worker starts
(a runner that cannot work here stops it with the reason) and pre-started in each pool process (warm containers).
"""

from __future__ import annotations

import logging

from gentrade.freqtrade.jobs import Runner
from gentrade.freqtrade.market_data import MarketDataCache
from gentrade.freqtrade.runners import DockerRunner, build_runner
from gentrade.runtime import runtime

log = logging.getLogger(__name__)


def configured_runner() -> Runner:
    """The local runner (warm by default) or the docker runner, as the settings say."""
    settings = runtime().settings
    if settings.freqtrade_runner == "docker":
        import docker

        return build_runner(
            "docker",
            client=docker.from_env,  # a client per run, closed after it
            image=settings.freqtrade_image,
            data_dir=settings.resolved_data_dir,
            host_data_dir=settings.docker_host_data_dir or settings.resolved_data_dir,
            pool_size=settings.docker_pool_size,
            container_jobs=settings.docker_container_jobs,
            pool_stale_seconds=settings.backtest_stale_seconds,  # a worker this long silent is gone
        )
    return build_runner("local", warm=settings.backtest_warm_start)


def prestart_pool() -> None:
    """A worker process starting: its pooled Freqtrade containers, shaped by the settings its backtests get, start
    in the background (nothing with the local runner or a pool size of 0)."""
    runner = configured_runner()
    if isinstance(runner, DockerRunner):
        settings = runtime().settings
        datadir = market_cache().root
        runner.prestart(datadir, settings.backtest_memory_mb, settings.backtest_cpus)


def runner_problem() -> str | None:
    """Why the configured runner cannot run backtests here, or None (checked when a worker starts)."""
    runner = configured_runner()
    if not isinstance(runner, DockerRunner):
        return None
    try:
        version = runner.check_engine()
    except Exception as exc:  # docker-py raises DockerException, requests' errors or EngineUnsupported
        return f"the Docker engine: {exc}"
    log.info("the docker runner uses the Docker engine at API %s and the image %s", version, runner.image)
    return None


def market_cache() -> MarketDataCache:
    settings = runtime().settings
    return MarketDataCache(
        settings.resolved_data_dir,
        settings.exchange_api_url,
        download_timeout_seconds=settings.backtest_download_timeout_seconds,
    )
