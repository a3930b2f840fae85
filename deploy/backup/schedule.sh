#!/bin/sh
# The backup service's loop: backup.sh now, then every BACKUP_INTERVAL_SECONDS (a day by default).
# A failed backup is logged and retried at the next turn; the container keeps running.
set -u
here="$(dirname "$0")"
while :; do
    if ! sh "$here/backup.sh"; then
        printf '{"event": "backup_failed", "level": "error"}\n' >&2
    fi
    sleep "${BACKUP_INTERVAL_SECONDS:-86400}"
done
