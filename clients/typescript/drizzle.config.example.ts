// drizzle-kit configuration for an app that uses pg_chronicle: the app's migrations manage
// its own schema only. The `chronicle` schema belongs to the extension (CREATE EXTENSION
// and ALTER EXTENSION … UPDATE create and change it); drizzle-kit must never generate DDL
// for it, so it is left out of schemaFilter. Import its tables and views from
// 'pg-chronicle/schema' for typed reads.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',        // the app's own tables (not pg-chronicle/schema)
  schemaFilter: ['public'],            // never introspect, diff or migrate `chronicle`
  dbCredentials: { url: process.env.DATABASE_URL! },
});
