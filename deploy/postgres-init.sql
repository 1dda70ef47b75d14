-- The services' own role, `appeal`: it may log in to this database and read and write
-- the rows of the appeal_<service> schemas, and nothing else (no superuser, no CREATE on the
-- database or the schemas, so no DDL). The tables belong to the admin role (POSTGRES_USER),
-- which `appeal db upgrade` (the Compose file's migrate one-shot) runs as.
--
-- The postgres image runs this once, as the admin role, when it initialises an empty data
-- directory (mounted into /docker-entrypoint-initdb.d/). It can be run again by hand, e.g. to
-- change the role's password:
--   docker compose exec postgres psql -U postgres -d appeal -f /docker-entrypoint-initdb.d/10-appeal-role.sql
\set ON_ERROR_STOP on
\getenv appeal_password POSTGRES_APPEAL_PASSWORD

\if :{?appeal_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'POSTGRES_APPEAL_PASSWORD is not set: it is the password of the services'' role, appeal'; END $$;
\endif

SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'appeal') AS appeal_role_missing \gset
\if :appeal_role_missing
CREATE ROLE appeal LOGIN PASSWORD :'appeal_password';
\else
ALTER ROLE appeal LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'appeal_password';
\endif

-- Only the admin role and the services' role connect to this database, and to no other.
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO appeal;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- `appeal db upgrade` creates its tables here as the admin role; the services' role may use
-- each schema and read and write the rows of what is, and will be, in it.
CREATE SCHEMA IF NOT EXISTS appeal_intake;
CREATE SCHEMA IF NOT EXISTS appeal_dispatch;
CREATE SCHEMA IF NOT EXISTS appeal_claim;
CREATE SCHEMA IF NOT EXISTS appeal_sla;
CREATE SCHEMA IF NOT EXISTS appeal_feedback;
GRANT USAGE ON SCHEMA appeal_intake, appeal_dispatch, appeal_claim, appeal_sla, appeal_feedback TO appeal;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES
    IN SCHEMA appeal_intake, appeal_dispatch, appeal_claim, appeal_sla, appeal_feedback TO appeal;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES
    IN SCHEMA appeal_intake, appeal_dispatch, appeal_claim, appeal_sla, appeal_feedback TO appeal;
ALTER DEFAULT PRIVILEGES FOR ROLE :"USER"
    IN SCHEMA appeal_intake, appeal_dispatch, appeal_claim, appeal_sla, appeal_feedback
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO appeal;
ALTER DEFAULT PRIVILEGES FOR ROLE :"USER"
    IN SCHEMA appeal_intake, appeal_dispatch, appeal_claim, appeal_sla, appeal_feedback
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO appeal;
