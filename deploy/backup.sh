#!/bin/sh
# A backup of the payments database, run by payments-backup.timer as the postgres user
# (docs/deploy.md, "Backups and a restore"): pg_dump's custom format (compressed; restored
# with pg_restore), named by its time, written whole before it takes its name; dumps older
# than KEEP_DAYS are removed. The first argument is the database (a name, or a URL).
set -eu
database="${1:-payments}"
directory="${BACKUP_DIR:-/var/backups/payments}"
keep_days="${KEEP_DAYS:-14}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
umask 077
pg_dump --format=custom --file="$directory/payments-$stamp.dump.partial" "$database"
mv "$directory/payments-$stamp.dump.partial" "$directory/payments-$stamp.dump"
find "$directory" -name 'payments-*.dump' -mtime +"$keep_days" -delete
echo "$directory/payments-$stamp.dump"
