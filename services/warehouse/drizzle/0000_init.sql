CREATE TABLE "batches" (
	"reference" text PRIMARY KEY NOT NULL,
	"sku" text NOT NULL,
	"qty" integer NOT NULL,
	"eta" date,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "batches_qty_not_negative" CHECK ("batches"."qty" >= 0)
);
--> statement-breakpoint
CREATE TABLE "dispatch_instructions" (
	"order_id" text NOT NULL,
	"sku" text NOT NULL,
	"batchref" text NOT NULL,
	"qty" integer NOT NULL,
	"status" text NOT NULL,
	"version" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dispatch_instructions_order_id_sku_batchref_pk" PRIMARY KEY("order_id","sku","batchref"),
	CONSTRAINT "dispatch_instructions_status" CHECK ("dispatch_instructions"."status" in ('pending', 'cancelled'))
);
--> statement-breakpoint
CREATE TABLE "inbox" (
	"consumer" text NOT NULL,
	"message_id" text NOT NULL,
	"subject" text NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_consumer_message_id_pk" PRIMARY KEY("consumer","message_id")
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"subject" text NOT NULL,
	"payload" jsonb NOT NULL,
	"headers" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	CONSTRAINT "outbox_event_id_unique" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("id") WHERE "outbox"."published_at" is null;