import { defineConfig } from 'drizzle-kit';

// `pnpm --filter @fleece/server db:generate` diffs src/db/schema against the last snapshot and writes SQL
// into drizzle/. Triggers, roles and row-level security policies are hand-written (`--custom`) migrations.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './drizzle',
  casing: 'snake_case',
});
