#!/bin/sh
# Restores one backup made by backup.sh into an empty database: restore.sh FILE.
# Where: libpq's PG* variables (PGDATABASE names the empty database, created beforehand with
# `createdb --owner ledger_owner NAME`). Run it as the superuser or a member of the roles that
# own the tables (ledger_owner, ledger_app: deploy/postgres/initdb), which keep their tables.
# All or nothing: one transaction, stopping at the first error.
set -eu

file="${1:?usage: restore.sh FILE}"
pg_restore --list "$file" >/dev/null
pg_restore --exit-on-error --single-transaction --no-password \
    --dbname="${PGDATABASE:?set PGDATABASE to the empty database to restore into}" "$file"
printf '{"event": "backup_restored", "file": "%s", "database": "%s"}\n' "$file" "$PGDATABASE"
