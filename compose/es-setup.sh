#!/bin/bash
# One-shot accounts of the compose stack, made as `elastic` so that nothing else ever needs that password.
#   es-setup.sh elasticsearch   (the `setup` service, before Kibana starts)
#     - the kibana_system password Kibana logs in with
#     - role newsmon_writer: index templates, and on newsmon-articles* only what `newsmon es setup`,
#       `es reindex`, the pipeline and searches do; user `newsmon` (NEWSMON_ES_PASSWORD) with that role
#     - user `newsmon_kibana` (NEWSMON_KIBANA_PASSWORD) for `newsmon kibana import`, role newsmon_kibana
#   es-setup.sh kibana          (the `kibana-setup` service, once Kibana is up)
#     - role newsmon_kibana through Kibana's role API (Kibana privileges are not made with Elasticsearch's)
# Every request creates or overwrites, so running it again (every `docker compose up`) changes nothing,
# and a password changed in .env is applied to the user on the next `up`.
set -euo pipefail
ES_URL=${ES_URL:-http://elasticsearch:9200}
KIBANA_URL=${KIBANA_URL:-http://kibana:5601}
ATTEMPTS=${SETUP_ATTEMPTS:-60}
RETRY_S=${SETUP_RETRY_S:-5}
: "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}"
ANSWER=$(mktemp)
trap 'rm -f "$ANSWER"' EXIT

# send WHAT METHOD URL JSON: retried while the service is starting (no answer, 5xx), fails on a refusal.
send() {
  local what=$1 method=$2 url=$3 body=$4 status attempt
  for attempt in $(seq 1 "$ATTEMPTS"); do
    status=$(curl -sS -o "$ANSWER" -w '%{http_code}' -u "elastic:$ELASTIC_PASSWORD" -X "$method" \
      -H 'Content-Type: application/json' -H 'kbn-xsrf: newsmon' -H 'Expect:' "$url" --data-binary "$body") || status=000
    case $status in
      2??) echo "es-setup: $what: done"; return 0 ;;
      401) echo "es-setup: $what: HTTP 401, ELASTIC_PASSWORD in .env is not the one Elasticsearch first started" \
             "with (docs/operations.md, Passwords)" >&2; return 1 ;;
      4??) echo "es-setup: $what: HTTP $status: $(head -c 500 "$ANSWER")" >&2; return 1 ;;
    esac
    echo "es-setup: $what: no answer yet from $url (HTTP $status), attempt $attempt of $ATTEMPTS" >&2
    sleep "$RETRY_S"
  done
  echo "es-setup: $what: gave up after $ATTEMPTS attempts" >&2
  return 1
}

# Passwords are letters, digits, '-', '_' and '=' (compose/check-env.sh), so they need no JSON escaping.
elasticsearch() {
  : "${KIBANA_PASSWORD:?set KIBANA_PASSWORD in .env}"
  : "${NEWSMON_ES_PASSWORD:?set NEWSMON_ES_PASSWORD in .env}"
  : "${NEWSMON_KIBANA_PASSWORD:?set NEWSMON_KIBANA_PASSWORD in .env}"
  send "kibana_system password" POST "$ES_URL/_security/user/kibana_system/_password" \
    "{\"password\": \"$KIBANA_PASSWORD\"}"
  # create_index + manage (aliases, refresh, the old index on `reindex --delete-old`), create_doc for the
  # create-only bulk writes, read for searches, view_index_metadata for the alias and index checks.
  send "role newsmon_writer" PUT "$ES_URL/_security/role/newsmon_writer" '{
    "description": "newsmon: its index template and the newsmon-articles indices, nothing else",
    "cluster": ["manage_index_templates"],
    "indices": [{"names": ["newsmon-articles*"],
                 "privileges": ["create_index", "manage", "create_doc", "read", "view_index_metadata"]}]}'
  send "user newsmon" PUT "$ES_URL/_security/user/newsmon" \
    "{\"password\": \"$NEWSMON_ES_PASSWORD\", \"roles\": [\"newsmon_writer\"], \"full_name\": \"newsmon pipeline\"}"
  send "user newsmon_kibana" PUT "$ES_URL/_security/user/newsmon_kibana" \
    "{\"password\": \"$NEWSMON_KIBANA_PASSWORD\", \"roles\": [\"newsmon_kibana\"], \"full_name\": \"newsmon Kibana import\"}"
}

kibana() {
  # Saved objects and advanced settings of the default space only; no Elasticsearch privileges at all.
  send "Kibana role newsmon_kibana" PUT "$KIBANA_URL/api/security/role/newsmon_kibana" '{
    "description": "newsmon kibana import: saved objects and advanced settings of the default space",
    "elasticsearch": {"cluster": [], "indices": []},
    "kibana": [{"base": ["all"], "feature": {}, "spaces": ["default"]}]}'
}

case ${1:-} in
  elasticsearch) elasticsearch ;;
  kibana) kibana ;;
  *) echo "usage: $0 elasticsearch|kibana" >&2; exit 2 ;;
esac
