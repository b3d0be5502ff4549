#!/usr/bin/env bash
# Start Airflow standalone (SQLite metadata, LocalExecutor) with newsmon's DAGs and the embedded store.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-.venv}
STATE_DIR=${STATE_DIR:-$ROOT/var}
export AIRFLOW_HOME=${AIRFLOW_HOME:-$STATE_DIR/airflow}
export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__PARALLELISM=${AIRFLOW__CORE__PARALLELISM:-4}
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__API__PORT=${AIRFLOW__API__PORT:-8080}
export NEWSMON_HOME=${NEWSMON_HOME:-$ROOT}
export NEWSMON_STATE_DIR=$STATE_DIR
export PATH=$ROOT/$VENV/bin:$PATH
mkdir -p "$AIRFLOW_HOME"

cat <<MSG
newsmon: starting Airflow standalone (this takes ~10-20 s)
  UI:        http://localhost:$AIRFLOW__API__PORT   (DAGs: newsmon_ingest every 10 min, newsmon_digest_hourly/daily)
  login:     admin / the password Airflow writes to $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated
  store:     $STATE_DIR/newsmon.db (SQLite state DB + FTS5 search index)
  search:    $VENV/bin/newsmon search 'salcininkai' --since 3d      (Lucene syntax, as in Kibana)
  alerts:    config/alerts.yaml → $STATE_DIR/alerts.jsonl (file channel) and any SMTP/Apprise URL you add
  one pass without Airflow: $VENV/bin/newsmon run --once ;  offline tour: $VENV/bin/newsmon demo
Stop with Ctrl-C.
MSG
( sleep 25; f="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"; \
  [ -f "$f" ] && echo "newsmon: Airflow login is in $f: $(cat "$f")" ) &
exec airflow standalone
