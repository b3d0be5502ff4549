#!/usr/bin/env bash
# Start Airflow (SQLite metadata, LocalExecutor, standalone's four components) with newsmon's DAGs and the
# embedded store. scripts/airflow_stack.py starts the api-server first and the scheduler only once it answers.
# With arguments, run that Airflow command in the same environment instead (e.g. `config get-value api host`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-.venv}
STATE_DIR=${STATE_DIR:-$ROOT/var}
export AIRFLOW_HOME=${AIRFLOW_HOME:-$STATE_DIR/airflow}
export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}
export AIRFLOW__CORE__PARALLELISM=${AIRFLOW__CORE__PARALLELISM:-4}
# Unpaused: `make run` schedules from the start. A benchmark that triggers one run by hand starts them paused.
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-False}
# Loopback only, as in docker-compose.yml: the simple auth manager of standalone mode is not made to face
# a network. AIRFLOW__API__HOST=0.0.0.0 make run exposes it (README, "Exposing the Airflow UI").
export AIRFLOW__API__HOST=${AIRFLOW__API__HOST:-127.0.0.1}
export AIRFLOW__API__PORT=${AIRFLOW__API__PORT:-8080}
case $AIRFLOW__API__HOST in
  0.0.0.0 | 127.0.0.1 | localhost) reach=127.0.0.1 ;;
  :: | ::1) reach=[::1] ;;
  *:*) reach=[$AIRFLOW__API__HOST] ;;
  *) reach=$AIRFLOW__API__HOST ;;
esac
# Task processes report to the API server; Airflow's default (localhost:8080) misses another port or host.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://$reach:$AIRFLOW__API__PORT/execution/}
export NEWSMON_HOME=${NEWSMON_HOME:-$ROOT}
export NEWSMON_STATE_DIR=$STATE_DIR
export PATH=$ROOT/$VENV/bin:$PATH
mkdir -p "$AIRFLOW_HOME"

if [ $# -gt 0 ]; then
  exec airflow "$@"
fi

if [ "$reach" = 127.0.0.1 ] && [ "$AIRFLOW__API__HOST" = 0.0.0.0 ]; then
  listening="every network interface (AIRFLOW__API__HOST=0.0.0.0): anyone who can reach this machine sees the login page"
elif [ "$reach" = 127.0.0.1 ] || [ "$reach" = "[::1]" ]; then
  listening="this machine only ($AIRFLOW__API__HOST); AIRFLOW__API__HOST=0.0.0.0 make run exposes it"
else
  listening="$AIRFLOW__API__HOST (AIRFLOW__API__HOST)"
fi
cat <<MSG
newsmon: starting Airflow: the api-server, then (once it answers) the scheduler, dag-processor, triggerer (~20-40 s)
  UI:        http://$reach:$AIRFLOW__API__PORT   (DAGs: newsmon_ingest every 10 min, newsmon_digest_hourly/daily)
  desk:      http://$reach:$AIRFLOW__API__PORT/newsmon/   (search, stories, alerts outbox, feed health; same login)
  listening: $listening
  login:     admin / the password Airflow writes to $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated
  HTTP pool: newsmon_http, NEWSMON_HTTP_POOL_SLOTS slots (default 4) shared by every task that fetches or delivers
  store:     $STATE_DIR/newsmon.db (SQLite state DB + FTS5 search index)
  search:    $VENV/bin/newsmon search 'salcininkai' --since 3d      (Lucene syntax, as in Kibana)
  alerts:    config/alerts.yaml → $STATE_DIR/alerts.jsonl (file channel) and any SMTP/Apprise URL you add
  one pass without Airflow: $VENV/bin/newsmon run --once ;  offline tour: $VENV/bin/newsmon demo
Stop with Ctrl-C.
MSG
# The DAGs upgrade the state DB too; doing it here first shows a refusal (a DB newer than this newsmon) at once.
newsmon db upgrade
exec "$ROOT/$VENV/bin/python" "$ROOT/scripts/airflow_stack.py"
