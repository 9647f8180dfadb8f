import { defineConfig } from 'drizzle-kit';

// Generates the reviewed SQL migrations in the repository's migrations/ folder.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: '../../migrations',
});
