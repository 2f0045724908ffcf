CREATE TABLE "batch_news" (
	"reference" text NOT NULL,
	"kind" text NOT NULL,
	"stream_sequence" bigint NOT NULL,
	CONSTRAINT "batch_news_reference_kind_pk" PRIMARY KEY("reference","kind")
);
--> statement-breakpoint
CREATE TABLE "order_records" (
	"order_id" text PRIMARY KEY NOT NULL,
	"cancelled" boolean DEFAULT false NOT NULL
);
