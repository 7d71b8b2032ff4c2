# The Freqtrade image the docker runner starts for each backtest (GENTRADE_FREQTRADE_IMAGE's default,
# gentrade/freqtrade:2026.9): the project's pinned Freqtrade in a virtualenv, nothing of the backend.
# Built by `make docker-images` (images/build.sh); BASE is python:3.12-slim on hosts with a registry,
# or the offline-made gentrade/debian-base:bookworm.
ARG BASE=python:3.12-slim
FROM ${BASE}

ENV LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    FT_APP_ENV=docker \
    PATH=/opt/freqtrade/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Freqtrade's pins, with the backend's pins as constraints only (the same versions, not the backend).
COPY requirements/base.txt requirements/freqtrade.txt /tmp/req/
COPY images/ca/ /tmp/ca/
RUN sed -i 's/^-r base.txt$/-c base.txt/' /tmp/req/freqtrade.txt \
 && if [ -f /tmp/ca/host-ca-certificates.crt ]; then export PIP_CERT=/tmp/ca/host-ca-certificates.crt; fi \
 && python3 -m venv /opt/freqtrade \
 && PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=120 \
    /opt/freqtrade/bin/pip install --no-cache-dir -r /tmp/req/freqtrade.txt \
 && rm -rf /tmp/req /tmp/ca

# The image's own user; the runner runs containers as the worker's uid:gid instead.
RUN useradd --uid 1000 --user-group --create-home --shell /bin/sh ftuser \
 && mkdir -p /freqtrade/user_data && chown -R ftuser:ftuser /freqtrade
USER ftuser
WORKDIR /freqtrade
ENTRYPOINT ["freqtrade"]
CMD ["--help"]
