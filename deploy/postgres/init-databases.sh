#!/bin/bash
# Creates one database and one login role per component, run once by the official postgres
# image on an empty data directory (/docker-entrypoint-initdb.d). Each service owns its data:
# its role owns its database, and PUBLIC may not connect to any of them, so no service can read
# another's tables. Passwords come from <COMPONENT>_DB_PASSWORD (default: the component's name,
# good for a laptop only; set them in .env for anything else).
set -e

create_database() {
    local name="$1" password="$2"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
SQL
    echo "init-databases: created database and role '$name'"
}

create_database gateway    "${GATEWAY_DB_PASSWORD:-gateway}"
create_database policy     "${POLICY_DB_PASSWORD:-policy}"
create_database claims     "${CLAIMS_DB_PASSWORD:-claims}"
create_database prevention "${PREVENTION_DB_PASSWORD:-prevention}"
create_database monitoring "${MONITORING_DB_PASSWORD:-monitoring}"
