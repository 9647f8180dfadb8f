-- Hand-written around drizzle-kit's output: drizzle-kit cannot declare partitioned tables.
-- Exposures and track events are partitioned by day on occurred_at; the server creates the
-- daily partitions (features/events/partitions.ts) and drops them past the retention period.
-- The default partitions catch any row whose day has no partition, so an insert never fails
-- for want of one. Context keys compare bytewise ("C"), the cheapest comparison there is, in
-- the keys the results query joins on.
CREATE TABLE "exposures" (
	"environment_id" uuid NOT NULL,
	"flag" text NOT NULL,
	"variant" text NOT NULL,
	"context_key" text COLLATE "C" NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL
) PARTITION BY RANGE ("occurred_at");
--> statement-breakpoint
CREATE TABLE "exposures_default" PARTITION OF "exposures" DEFAULT;
--> statement-breakpoint
CREATE TABLE "exposure_units" (
	"environment_id" uuid NOT NULL,
	"flag" text NOT NULL,
	"context_key" text COLLATE "C" NOT NULL,
	"variant" text NOT NULL,
	"first_at" timestamp with time zone NOT NULL,
	"mixed" boolean DEFAULT false NOT NULL,
	CONSTRAINT "exposure_units_environment_id_flag_context_key_pk" PRIMARY KEY("environment_id","flag","context_key")
);
--> statement-breakpoint
CREATE INDEX "exposure_units_first_at" ON "exposure_units" USING btree ("first_at");
--> statement-breakpoint
ALTER TABLE "track_events" RENAME TO "track_events_unpartitioned";
--> statement-breakpoint
CREATE TABLE "track_events" (
	"environment_id" uuid NOT NULL,
	"batch_id" bigint NOT NULL,
	"event" text NOT NULL,
	"context_key" text COLLATE "C",
	"value" double precision,
	"occurred_at" timestamp with time zone NOT NULL
) PARTITION BY RANGE ("occurred_at");
--> statement-breakpoint
CREATE TABLE "track_events_default" PARTITION OF "track_events" DEFAULT;
--> statement-breakpoint
CREATE INDEX "track_events_unit" ON "track_events" USING btree ("environment_id","event","context_key","occurred_at","value");
--> statement-breakpoint
INSERT INTO "track_events" ("environment_id", "batch_id", "event", "context_key", "value", "occurred_at")
	SELECT b."environment_id", t."batch_id", t."event", t."context_key", t."value", t."occurred_at"
	FROM "track_events_unpartitioned" t JOIN "event_batches" b ON b."id" = t."batch_id";
--> statement-breakpoint
DROP TABLE "track_events_unpartitioned";
--> statement-breakpoint
ALTER TABLE "event_batches" ADD COLUMN "client_batch_id" text;
--> statement-breakpoint
CREATE UNIQUE INDEX "event_batches_client_id" ON "event_batches" USING btree ("environment_id","client_batch_id");
--> statement-breakpoint
CREATE TABLE "metrics" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"event" text NOT NULL,
	"kind" text NOT NULL,
	"direction" text NOT NULL,
	"archived" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "metrics_kind" CHECK ("metrics"."kind" in ('conversion', 'mean')),
	CONSTRAINT "metrics_direction" CHECK ("metrics"."direction" in ('increase', 'decrease'))
);
--> statement-breakpoint
ALTER TABLE "metrics" ADD CONSTRAINT "metrics_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE UNIQUE INDEX "metrics_project_key" ON "metrics" USING btree ("project_id","key");
