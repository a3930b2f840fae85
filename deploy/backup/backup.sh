#!/bin/sh
# One backup of the ledger's database (pg_dump's custom format, checked readable), then backups
# older than BACKUP_KEEP_DAYS removed. Where to connect: libpq's PGHOST, PGPORT, PGUSER,
# PGPASSWORD (or PGPASSFILE) and PGDATABASE. BACKUP_DIR (default /backups) keeps the files,
# named ledger-YYYYMMDDTHHMMSSZ.dump. Restore one with restore.sh (docs/operations.md).
set -eu

dir="${BACKUP_DIR:-/backups}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
file="$dir/ledger-$stamp.dump"
partial="$dir/.ledger-$stamp.dump.partial"

mkdir -p "$dir"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --no-password --file="$partial"
pg_restore --list "$partial" >/dev/null  # a readable archive, or no backup at all
mv "$partial" "$file"
# Older than keep_days whole days (minutes, so that "14" means 14 days, not find's 15).
find "$dir" -maxdepth 1 -type f -name 'ledger-*.dump' -mmin +"$((keep_days * 1440))" -delete
printf '{"event": "backup_written", "file": "%s", "bytes": %s, "keep_days": %s}\n' \
    "$file" "$(wc -c <"$file" | tr -d ' ')" "$keep_days"
