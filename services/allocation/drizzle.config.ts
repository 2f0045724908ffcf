import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: ["./src/adapters/db/tables.ts", "../../packages/messaging/src/schema.ts"],
  out: "./drizzle",
});
