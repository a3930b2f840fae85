#!/bin/sh
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d), as the
# superuser. Three roles, none a superuser, passwords from the environment (docker-compose.yml):
#   ledger_owner  owns the database and the event tables; `psvs-ledger db grants` runs as it
#   ledger_app    what the API and the projection worker connect as (only the grants given)
#   ledger_backup reads everything (pg_read_all_data), for pg_dump
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$LEDGER_OWNER_DB_PASSWORD" \
    -v app_password="$LEDGER_APP_DB_PASSWORD" \
    -v backup_password="$LEDGER_BACKUP_DB_PASSWORD" <<'SQL'
CREATE ROLE ledger_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE ledger_app LOGIN PASSWORD :'app_password';
CREATE ROLE ledger_backup LOGIN PASSWORD :'backup_password';
GRANT pg_read_all_data TO ledger_backup;
CREATE DATABASE ledger OWNER ledger_owner;
REVOKE ALL ON DATABASE ledger FROM PUBLIC;
GRANT CONNECT ON DATABASE ledger TO ledger_app;
GRANT CONNECT ON DATABASE ledger TO ledger_backup;
SQL
