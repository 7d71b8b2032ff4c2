"""``docker run`` of the stock Freqtrade image by hand, with the docker runner's own options: the baseline the
docker runner is measured against (the tool a user would run without the service)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker

from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.runners import DockerRunner
from gentrade.freqtrade.runners.docker import image_environment
from gentrade.settings import DEFAULT_FREQTRADE_IMAGE


def docker_run_argv(image: str, options: dict[str, Any]) -> list[str]:
    """``docker run --rm`` with what the cold runner gives ``containers.create``."""
    argv = ["docker", "run", "--rm", "--network", options["network_mode"], "--user", options["user"]]
    argv += ["--memory", options["mem_limit"], "--memory-swap", options["memswap_limit"]]
    argv += ["--cpus", str(options["nano_cpus"] / 1e9), "--pids-limit", str(options["pids_limit"]), "--read-only"]
    for target, spec in options["tmpfs"].items():
        argv += ["--tmpfs", f"{target}:{spec}"]
    for capability in options["cap_drop"]:
        argv += ["--cap-drop", capability]
    for security in options["security_opt"]:
        argv += ["--security-opt", security]
    for name, value in options["environment"].items():
        argv += ["--env", f"{name}={value}"]
    for mount in options["mounts"]:
        readonly = ",readonly" if mount["ReadOnly"] else ""
        argv += ["--mount", f"type={mount['Type']},source={mount['Source']},target={mount['Target']}{readonly}"]
    shell, flag, script, name = options["entrypoint"]
    argv += ["--workdir", options["working_dir"], "--entrypoint", shell, image, flag, script, name]
    return [*argv, *options["command"]]


def docker_run_command(data_dir: Path, job: BacktestJob, image: str = DEFAULT_FREQTRADE_IMAGE) -> list[str]:
    """The ``docker run`` command line for ``job`` (its results folder and network config written first)."""
    runner = DockerRunner(docker.from_env, image, data_dir)
    client = docker.from_env()
    try:
        config = client.images.get(image).attrs["Config"]
    finally:
        client.close()
    job.results_dir.mkdir(parents=True, exist_ok=True)
    runner.write_network_config(job)
    options = runner.container_options(job, image_environment(config.get("Env")), list(config.get("Entrypoint") or []))
    return docker_run_argv(image, options)
