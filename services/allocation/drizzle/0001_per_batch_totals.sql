DROP INDEX "allocations_sku_idx";--> statement-breakpoint
DROP INDEX "backorders_sku_idx";--> statement-breakpoint
ALTER TABLE "batches" ADD COLUMN "allocated" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Hand-written: a database migrated forward starts with each batch's total of what is allocated to it now.
UPDATE "batches" SET "allocated" = "totals"."qty" FROM (SELECT "batch_ref", sum("qty")::integer AS "qty" FROM "allocations" GROUP BY "batch_ref") AS "totals" WHERE "batches"."reference" = "totals"."batch_ref";--> statement-breakpoint
CREATE INDEX "allocations_batch_newest_idx" ON "allocations" USING btree ("batch_ref","allocated_version");--> statement-breakpoint
CREATE INDEX "backorders_queue_idx" ON "backorders" USING btree ("sku","since_version");--> statement-breakpoint
ALTER TABLE "batches" ADD CONSTRAINT "batches_allocated_within_qty" CHECK ("batches"."allocated" >= 0 and "batches"."allocated" <= "batches"."qty");