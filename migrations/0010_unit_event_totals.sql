-- Per-unit metric aggregates kept at ingestion, so that a metric's results read one row per
-- unit that sent the event instead of joining its raw track events with a million exposed units.
-- unit_event_totals holds, for each unit exposed to a flag and each event it sent at or after
-- its first exposure, how many and their values' sum; the unit's assignment is copied in so the
-- results query needs no join. event_unit_locks has one row per (environment, context key) that
-- ingestion locks before it reads or writes a unit's exposures or totals: a track event and an
-- exposure of the same unit arriving in concurrent batches then see each other.
CREATE TABLE "unit_event_totals" (
	"environment_id" uuid NOT NULL,
	"flag" text NOT NULL,
	"event" text NOT NULL,
	"context_key" text COLLATE "C" NOT NULL,
	"variant" text NOT NULL,
	"mixed" boolean NOT NULL,
	"events" bigint NOT NULL,
	"total" double precision NOT NULL,
	CONSTRAINT "unit_event_totals_pk" PRIMARY KEY("environment_id","flag","event","context_key")
);
--> statement-breakpoint
CREATE TABLE "event_unit_locks" (
	"environment_id" uuid NOT NULL,
	"context_key" text COLLATE "C" NOT NULL,
	CONSTRAINT "event_unit_locks_pk" PRIMARY KEY("environment_id","context_key")
);
--> statement-breakpoint
-- Ingestion finds a unit's exposures by its key alone (a track event names no flag), and its
-- track events of every event at once when its first exposure moves.
CREATE INDEX "exposure_units_unit" ON "exposure_units" USING btree ("environment_id","context_key");
--> statement-breakpoint
DROP INDEX "track_events_unit";
--> statement-breakpoint
CREATE INDEX "track_events_unit" ON "track_events" USING btree ("environment_id","context_key","event","occurred_at","value");
--> statement-breakpoint
INSERT INTO "unit_event_totals" ("environment_id", "flag", "event", "context_key", "variant", "mixed", "events", "total")
	SELECT u."environment_id", u."flag", t."event", u."context_key", u."variant", u."mixed", count(*), coalesce(sum(t."value"), 0)
	FROM "exposure_units" u
	JOIN "track_events" t ON t."environment_id" = u."environment_id" AND t."context_key" = u."context_key" AND t."occurred_at" >= u."first_at"
	GROUP BY u."environment_id", u."flag", t."event", u."context_key", u."variant", u."mixed";
