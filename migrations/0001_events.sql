CREATE TABLE "evaluation_counts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"batch_id" bigint NOT NULL,
	"flag" text NOT NULL,
	"variant" text,
	"reason" text NOT NULL,
	"count" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_batches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"environment_id" uuid NOT NULL,
	"key_id" uuid,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"dropped_evaluations" integer DEFAULT 0 NOT NULL,
	"dropped_events" integer DEFAULT 0 NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "track_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"batch_id" bigint NOT NULL,
	"event" text NOT NULL,
	"context_key" text,
	"value" double precision,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "evaluation_counts" ADD CONSTRAINT "evaluation_counts_batch_id_event_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."event_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "event_batches" ADD CONSTRAINT "event_batches_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "event_batches" ADD CONSTRAINT "event_batches_key_id_api_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."api_keys"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "track_events" ADD CONSTRAINT "track_events_batch_id_event_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."event_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "evaluation_counts_batch" ON "evaluation_counts" USING btree ("batch_id");--> statement-breakpoint
CREATE INDEX "event_batches_environment" ON "event_batches" USING btree ("environment_id","received_at");--> statement-breakpoint
CREATE INDEX "track_events_batch" ON "track_events" USING btree ("batch_id");