import { defineConfig } from "drizzle-kit";

// drizzle-kit loads schema files with its own bundler, which does not know the workspace's
// "source" export condition; so it reads the kit's table file directly instead of going
// through src/adapters/db/schema.ts (which re-exports the same tables for the runtime).
export default defineConfig({
  dialect: "postgresql",
  schema: ["./src/adapters/db/tables.ts", "../../packages/messaging/src/schema.ts"],
  out: "./drizzle",
});
