"""The Docker engine and images the Docker tests need, or a skip with the reason (a failure under CI=true).

`make test` runs `make docker-images` first, which brings an engine up where it can and builds the
images offline.
"""

from __future__ import annotations

from typing import NoReturn

import docker

from gentrade.settings import DEFAULT_FREQTRADE_IMAGE
from tests.services import unavailable

OFFICIAL_LAYOUT_IMAGE = f"{DEFAULT_FREQTRADE_IMAGE}-official-layout"


def docker_unavailable(reason: str) -> NoReturn:
    unavailable(reason, "the Docker tests must run; `make docker-images` brings the engine up")


def require_docker(*images: str) -> docker.DockerClient:
    """A client of a Docker engine that answers and holds ``images``."""
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # docker-py raises DockerException or requests' errors
        docker_unavailable(f"no Docker engine answers: {exc}")
    for image in images:
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            docker_unavailable(f"the image {image} is missing: run `make docker-images`")
    return client
