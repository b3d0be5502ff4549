# newsmon's Airflow image: Airflow 3.3.2 + newsmon + the PostgreSQL driver. Built by `docker compose build`.
#
# Why the official Airflow image rather than python:3.11-slim: it already brings what every Airflow
# container needs and we would otherwise rebuild by hand: the entrypoint (waits for the metadata DB,
# handles `airflow ...` and `bash -c ...` commands), the unprivileged `airflow` user (uid 50000),
# curl for healthchecks, and the Celery/Kubernetes providers, so scaling out to CeleryExecutor
# (docs/operations.md) needs no other image. newsmon's own libraries are installed on top with
# constraints.txt, the tree `make test` tests; it pins apache-airflow==3.3.2 too, so pip leaves
# the image's Airflow alone.
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

# The project lives in /opt/newsmon; compose mounts config/ (and dags/) over the copies baked in here.
# auth/ holds the Airflow login file airflow-init writes; it must exist (owned by airflow) before a
# named volume is mounted on it, or the volume comes up owned by root.
USER root
RUN mkdir -p /opt/newsmon/var /opt/airflow/auth \
 && chown -R airflow:0 /opt/newsmon /opt/airflow/auth \
 && chmod -R g+rwX /opt/newsmon /opt/airflow/auth
USER airflow
WORKDIR /opt/newsmon

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSMON_HOME=/opt/newsmon \
    NEWSMON_CONFIG_DIR=/opt/newsmon/config \
    NEWSMON_STATE_DIR=/opt/newsmon/var

# Dependencies first: this layer is rebuilt only when the pins change, not on every code change.
# psycopg is the state DB's and Airflow's PostgreSQL driver (postgresql+psycopg:// URLs).
COPY --chown=airflow:0 requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt "psycopg[binary]==3.3.9"

COPY --chown=airflow:0 pyproject.toml README.md ./
# newsmon/ingest and newsmon/enrich are symlinks to ../ingest and ../enrich: COPY keeps them as symlinks,
# so both folders are copied beside the package.
COPY --chown=airflow:0 newsmon ./newsmon
COPY --chown=airflow:0 ingest ./ingest
COPY --chown=airflow:0 enrich ./enrich
COPY --chown=airflow:0 config ./config
COPY --chown=airflow:0 kibana ./kibana
COPY --chown=airflow:0 dags /opt/airflow/dags
# Editable on purpose: kibana/newsmon.ndjson and config/ are read from beside the package (the wheel of a
# plain `pip install .` carries the package and its es_mapping.json, not those).
RUN pip install --no-deps -e .

WORKDIR /opt/airflow
