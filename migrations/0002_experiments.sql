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
CREATE TABLE "exposure_unit_counts" (
	"environment_id" uuid NOT NULL,
	"flag" text NOT NULL,
	"variant" text NOT NULL,
	"units" bigint DEFAULT 0 NOT NULL,
	"excluded" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "exposure_unit_counts_environment_id_flag_variant_pk" PRIMARY KEY("environment_id","flag","variant")
);
--> statement-breakpoint
-- Adds each (environment, flag, variant)'s change in units and excluded units to its counts.
-- Statement triggers with transition tables see exactly the rows a statement inserted, and the
-- old and new versions of those it updated (an upsert fires both), as they were locked: the
-- counts stay exact with concurrent batches. Rows are added in key order so that concurrent
-- statements lock the count rows in the same order.
CREATE FUNCTION "exposure_unit_counts_add"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO exposure_unit_counts AS c (environment_id, flag, variant, units, excluded)
		SELECT environment_id, flag, variant, count(*) FILTER (WHERE NOT mixed), count(*) FILTER (WHERE mixed)
		FROM new_units GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
		ON CONFLICT (environment_id, flag, variant) DO UPDATE
		SET units = c.units + excluded.units, excluded = c.excluded + excluded.excluded;
	ELSIF TG_OP = 'UPDATE' THEN
		INSERT INTO exposure_unit_counts AS c (environment_id, flag, variant, units, excluded)
		SELECT environment_id, flag, variant, sum(units), sum(excluded)
		FROM (
			SELECT environment_id, flag, variant, (NOT mixed)::int AS units, mixed::int AS excluded FROM new_units
			UNION ALL
			SELECT environment_id, flag, variant, -(NOT mixed)::int, -mixed::int FROM old_units
		) d
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
		ON CONFLICT (environment_id, flag, variant) DO UPDATE
		SET units = c.units + excluded.units, excluded = c.excluded + excluded.excluded;
	ELSE
		UPDATE exposure_unit_counts c SET units = c.units - d.units, excluded = c.excluded - d.excluded
		FROM (
			SELECT environment_id, flag, variant, count(*) FILTER (WHERE NOT mixed) AS units, count(*) FILTER (WHERE mixed) AS excluded
			FROM old_units GROUP BY 1, 2, 3
		) d
		WHERE c.environment_id = d.environment_id AND c.flag = d.flag AND c.variant = d.variant;
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "exposure_units_inserted" AFTER INSERT ON "exposure_units"
	REFERENCING NEW TABLE AS new_units FOR EACH STATEMENT EXECUTE FUNCTION "exposure_unit_counts_add"();
--> statement-breakpoint
CREATE TRIGGER "exposure_units_updated" AFTER UPDATE ON "exposure_units"
	REFERENCING OLD TABLE AS old_units NEW TABLE AS new_units FOR EACH STATEMENT EXECUTE FUNCTION "exposure_unit_counts_add"();
--> statement-breakpoint
CREATE TRIGGER "exposure_units_deleted" AFTER DELETE ON "exposure_units"
	REFERENCING OLD TABLE AS old_units FOR EACH STATEMENT EXECUTE FUNCTION "exposure_unit_counts_add"();
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
