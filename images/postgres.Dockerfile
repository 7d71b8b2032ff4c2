# A stand-in for the official postgres image on hosts with no registry (the compose deployment test):
# Debian's PostgreSQL with the part of the official image's contract docker-compose.yml uses:
# POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB create the role and database on the first start,
# the data lives in /var/lib/postgresql/data, pg_isready answers the health check.
# Not for production: there, docker-compose.yml uses postgres:16 (POSTGRES_IMAGE selects another).
ARG BASE=gentrade/debian-base:bookworm
FROM ${BASE}

# No cluster from the package (the entrypoint makes one in the volume), and no service start in the build.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql

ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY images/services/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
