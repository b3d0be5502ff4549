#!/bin/bash
# First start of the postgres service only (docker-entrypoint-initdb.d): two users, two databases.
# Airflow's metadata and newsmon's state live apart, as DESIGN asks ("never Airflow's own DB"), and
# neither user can open the other's database. Passwords come from the service environment (.env).
set -euo pipefail
: "${AIRFLOW_DB_PASSWORD:?set AIRFLOW_DB_PASSWORD in .env}"
: "${NEWSMON_DB_PASSWORD:?set NEWSMON_DB_PASSWORD in .env}"

# psql fills :'name' from -v with proper quoting, so a password never becomes SQL.
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v airflow_password="$AIRFLOW_DB_PASSWORD" -v newsmon_password="$NEWSMON_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
CREATE ROLE newsmon LOGIN PASSWORD :'newsmon_password';
CREATE DATABASE newsmon OWNER newsmon;
REVOKE ALL ON DATABASE newsmon FROM PUBLIC;
SQL
echo "postgres-init: created databases airflow and newsmon with their own users"
