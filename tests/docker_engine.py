"""The Docker engine and images the Docker tests need, or a skip with the reason (a failure under CI=true).

`make test` runs `make docker-images` first, which brings an engine up where it can and builds the
images offline.
"""

from __future__ import annotations

import os

import docker
import pytest

from gentrade.settings import DEFAULT_FREQTRADE_IMAGE

OFFICIAL_LAYOUT_IMAGE = f"{DEFAULT_FREQTRADE_IMAGE}-official-layout"


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the Docker tests must run; `make docker-images` brings the engine up)")
    pytest.skip(reason)


def require_docker(*images: str) -> docker.DockerClient:
    """A client of a Docker engine that answers and holds ``images``."""
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # docker-py raises DockerException or requests' errors
        unavailable(f"no Docker engine answers: {exc}")
    for image in images:
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            unavailable(f"the image {image} is missing: run `make docker-images`")
    return client
