-- The application role. The server connects as the schema owner, runs migrations, then `SET ROLE fleece_app`
-- for every query it serves: a role that is neither owner nor superuser, so row-level security and the
-- insert-only audit table bind it. Roles are cluster-wide, hence IF NOT EXISTS.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleece_app') THEN
    CREATE ROLE fleece_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
  END IF;
END
$$;
--> statement-breakpoint
-- The owner must be able to SET ROLE to it (automatic for a superuser; needed for a managed-database owner).
DO $$
BEGIN
  EXECUTE format('GRANT fleece_app TO %I', current_user);
EXCEPTION WHEN others THEN
  RAISE NOTICE 'could not grant fleece_app to %: %', current_user, SQLERRM;
END
$$;
--> statement-breakpoint
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO fleece_app', current_schema());
END
$$;
--> statement-breakpoint
-- Migration bookkeeping is readable by the app role, so /api/health can report pending migrations.
GRANT USAGE ON SCHEMA drizzle TO fleece_app;
--> statement-breakpoint
GRANT SELECT ON drizzle.__drizzle_migrations TO fleece_app;
--> statement-breakpoint
-- Tables and sequences created by later migrations are usable by the app role; migrations that need less
-- (the audit log: INSERT and SELECT only) revoke the rest explicitly.
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fleece_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO fleece_app;
