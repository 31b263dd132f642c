#!/usr/bin/env bash
# Start PostgreSQL for the lab; on the first start (empty volume) initialise the
# cluster, the application role and database, and the schema with synthetic citizens.
set -euo pipefail

log() { printf 'dvc-postgres: %s\n' "$*" >&2; }
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

: "${POSTGRES_DB:=dvc}" "${POSTGRES_USER:=dvc}"
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$(dirname "$PGDATA")" "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        log "POSTGRES_PASSWORD is not set: the database needs a password for its application role"
        exit 1
    fi
    log "initialising a new cluster in $PGDATA"
    as_postgres initdb -D "$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
password_encryption = scram-sha-256
unix_socket_directories = '/run/postgresql'
jit = off
CONF
    cat >"$PGDATA/pg_hba.conf" <<CONF
local   all  postgres               peer
local   all  all                    scram-sha-256
host    all  all       0.0.0.0/0    scram-sha-256
host    all  all       ::/0         scram-sha-256
CONF
    as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres \
        -v user="$POSTGRES_USER" -v pw="$POSTGRES_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"user";
SQL
    as_postgres psql -q -v ON_ERROR_STOP=1 -d "$POSTGRES_DB" -v user="$POSTGRES_USER" \
        -c "SET ROLE \"$POSTGRES_USER\"" -f /usr/share/dvc-pg/schema.sql
    as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    log "cluster ready: database $POSTGRES_DB, role $POSTGRES_USER"
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA"
