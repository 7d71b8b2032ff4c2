# GenTrade backend image: one image for the API (gunicorn), the migrations and the Celery worker.
# docker-compose.yml builds it and runs the production stack; see docs/deployment.md.

# BASE: python:3.12-slim where a registry is reachable; `make docker-images` passes an offline-made
# Debian base instead (images/base-image.sh).
ARG BASE=python:3.12-slim

# --- builder: install the pinned runtime dependencies into a virtualenv ---------------------
FROM ${BASE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1

# Every pinned package has a wheel for CPython 3.12 on manylinux x86_64 (psycopg-binary, gevent,
# cryptography, ...), so no compiler is needed, here or in the runtime stage.
RUN python3 -m venv /opt/venv
# freqtrade.txt includes base.txt: the API checks strategies with Freqtrade, the worker runs it.
COPY requirements/ /tmp/requirements/
# A TLS-intercepting proxy's CA, if the build host has one (images/build.sh puts it there).
COPY images/ca/ /tmp/ca/
RUN if [ -f /tmp/ca/host-ca-certificates.crt ]; then export PIP_CERT=/tmp/ca/host-ca-certificates.crt; fi \
 && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements/freqtrade.txt

# --- runtime -------------------------------------------------------------------------------
FROM ${BASE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GENTRADE_ENV=production \
    GENTRADE_DATA_DIR=/data

# A fixed, unprivileged uid/gid so the ownership of /data (a host folder owned by 10001, bind-mounted
# by compose) is predictable. /data holds user directories, the market-data cache and results.
RUN groupadd --system --gid 10001 gentrade \
    && useradd --system --no-log-init --uid 10001 --gid gentrade --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin gentrade \
    && mkdir -p /data \
    && chown gentrade:gentrade /data

COPY --from=builder /opt/venv /opt/venv

# The application code stays owned by root: the runtime user can read it, not change it.
WORKDIR /app
COPY wsgi.py ./
COPY gentrade/ ./gentrade/
COPY config/ ./config/
COPY migrations/ ./migrations/

USER gentrade:gentrade

EXPOSE 8000

# No curl in the slim image: probe the liveness endpoint with the standard library.
# urlopen raises on connection errors and non-2xx answers, so any failure exits non-zero.
# Containers of this image that do not serve HTTP (migrate, worker) disable it in compose.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "wsgi:app"]
