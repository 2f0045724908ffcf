#!/bin/sh
# Creates one database and one login role per service, each role owning only its database.
# The postgres image runs this once, on an empty data directory (/docker-entrypoint-initdb.d);
# e2e/test/database-roles.int.test.ts runs it against the local server with its own names.
#
#   STOCKFLOW_SERVICES            services (= role = database names), default: the three
#   <SERVICE>_DB_PASSWORD         each role's password (dev-only default: <service>-dev-password)
#   STOCKFLOW_LOCK_POSTGRES_DB    1 (default): also revoke CONNECT on the `postgres` maintenance
#                                 database from PUBLIC, so service roles reach nothing but their own
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
sql_file="${STOCKFLOW_SQL_FILE:-$here/service-database.psql}"
psql_admin() {
  psql -v ON_ERROR_STOP=1 -q --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" "$@"
}

for service in ${STOCKFLOW_SERVICES:-ordering allocation warehouse}; do
  var=$(printf '%s_DB_PASSWORD' "$service" | tr '[:lower:]-' '[:upper:]_')
  password=$(printenv "$var" || true)
  password=${password:-$service-dev-password}
  psql_admin -v role="$service" -v db="$service" -v password="$password" -f "$sql_file"
  echo "stockflow: database and role \"$service\" ready"
done

if [ "${STOCKFLOW_LOCK_POSTGRES_DB:-1}" = "1" ]; then
  psql_admin -c 'revoke connect on database postgres from public'
fi
