# A test image laid out like the official freqtradeorg/freqtrade: user ftuser (uid 1000), Freqtrade
# installed with `pip install --user` under /home/ftuser/.local, no HOME in the environment,
# ENTRYPOINT ["freqtrade"], WORKDIR /freqtrade. The runner must work with it as with our own image.
ARG BASE=python:3.12-slim
FROM ${BASE}

ENV LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    FT_APP_ENV=docker \
    PATH=/home/ftuser/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RUN useradd --uid 1000 --user-group --create-home --shell /bin/sh ftuser \
 && mkdir -p /freqtrade/user_data && chown -R ftuser:ftuser /freqtrade
COPY --chown=ftuser:ftuser requirements/base.txt requirements/freqtrade.txt /tmp/req/
COPY images/ca/ /tmp/ca/
USER ftuser
# Debian's own Python is "externally managed" (PEP 668): a --user install must say it means it.
RUN sed -i 's/^-r base.txt$/-c base.txt/' /tmp/req/freqtrade.txt \
 && if [ -f /tmp/ca/host-ca-certificates.crt ]; then export PIP_CERT=/tmp/ca/host-ca-certificates.crt; fi \
 && PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=120 PIP_BREAK_SYSTEM_PACKAGES=1 \
    python3 -m pip install --user --no-cache-dir -r /tmp/req/freqtrade.txt \
 && rm -rf /tmp/req
WORKDIR /freqtrade
ENTRYPOINT ["freqtrade"]
CMD ["--help"]
