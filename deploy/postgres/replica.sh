#!/bin/sh
# The `replica` service (docker-compose.yml, profile `replica`): on an empty volume, a copy of
# the primary taken with pg_basebackup -R (it then starts as a hot standby streaming from `db`);
# then the official image's entrypoint, which finds the data directory made and runs postgres.
# A replica left down longer than the WAL the primary keeps (wal_keep_size) cannot catch up:
# remove its volume (`docker compose rm -sf replica && docker volume rm <project>_replica-data`)
# and start it again for a fresh copy.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "replica: copying the primary (pg_basebackup from db)"
  PGPASSWORD="$POSTGRES_PASSWORD" pg_basebackup -h db -U "$POSTGRES_USER" -D "$PGDATA" \
    -R -X stream -c fast --progress
  chmod 0700 "$PGDATA"
fi
exec docker-entrypoint.sh postgres
