#!/bin/bash
# First service of the stack: refuses to start anything while a secret in .env is missing, too short or
# still the placeholder of .env.example, because Elasticsearch and PostgreSQL keep the passwords they
# first start with. Usage: check-env.sh NAME... (each NAME is read from the environment).
set -uo pipefail
MIN_CHARS=${MIN_CHARS:-12}
problems=0

refuse() {
  echo "check-env: $*" >&2
  problems=$((problems + 1))
}

for name in "$@"; do
  value=${!name-}
  lowered=${value,,}
  if [ -z "$value" ]; then
    refuse "$name is not set: set it in .env (copy .env.example)"
  elif [[ $lowered == *change-me* || $lowered == *changeme* ]]; then
    refuse "$name in .env is still the placeholder of .env.example: replace it with a random value," \
      "e.g. from: python3 -c \"import secrets; print(secrets.token_urlsafe(32))\""
  elif [ "${#value}" -lt "$MIN_CHARS" ]; then
    refuse "$name in .env has ${#value} characters: use at least $MIN_CHARS random ones"
  elif [[ ! $value =~ ^[A-Za-z0-9_=-]+$ ]]; then
    refuse "$name in .env contains characters other than letters, digits, '-', '_' and '=':" \
      "it is passed inside JSON and database URLs; make a new one"
  fi
done
# Kibana refuses to start with a shorter saved-objects encryption key.
if [[ " $* " == *" KIBANA_ENCRYPTION_KEY "* ]] && [ -n "${KIBANA_ENCRYPTION_KEY-}" ] && [ "${#KIBANA_ENCRYPTION_KEY}" -lt 32 ]; then
  refuse "KIBANA_ENCRYPTION_KEY in .env needs at least 32 characters, it has ${#KIBANA_ENCRYPTION_KEY}"
fi
if [ "$problems" -gt 0 ]; then
  echo "check-env: $problems problem(s) in .env; nothing was started. Fix them and run \`docker compose up -d\` again." >&2
  exit 1
fi
echo "check-env: the $# secrets in .env are set"
