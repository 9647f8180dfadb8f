-- Scheduled changes (DESIGN §10): a change to a flag's configuration in one environment, applied
-- at `at` by the instance driving release plans. `base_version` is the configuration's version
-- when it was scheduled; `if_version_moved` says whether a configuration changed since is still
-- changed (`apply`) or left alone (`refuse`). A row leaves `pending` once, in the transaction
-- that applies, refuses, fails or cancels it, which is what makes it fire once across instances.
CREATE TABLE "scheduled_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"project_id" uuid NOT NULL,
	"flag_id" uuid NOT NULL,
	"environment_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"change" jsonb NOT NULL,
	"if_version_moved" text NOT NULL,
	"base_version" bigint NOT NULL,
	"reason" text,
	"state" text DEFAULT 'pending' NOT NULL,
	"scheduled_by" text NOT NULL,
	"scheduled_by_id" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"applied_version" bigint,
	"outcome" text,
	"settled_by" text,
	"settled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scheduled_changes_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action,
	CONSTRAINT "scheduled_changes_flag_id_flags_id_fk" FOREIGN KEY ("flag_id") REFERENCES "public"."flags"("id") ON DELETE cascade ON UPDATE no action,
	CONSTRAINT "scheduled_changes_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action,
	CONSTRAINT "scheduled_changes_state" CHECK ("state" in ('pending', 'applied', 'refused', 'cancelled', 'failed')),
	CONSTRAINT "scheduled_changes_if_version_moved" CHECK ("if_version_moved" in ('apply', 'refuse'))
);
--> statement-breakpoint
CREATE INDEX "scheduled_changes_due" ON "scheduled_changes" USING btree ("at","id") WHERE "state" = 'pending';
--> statement-breakpoint
CREATE INDEX "scheduled_changes_flag_environment" ON "scheduled_changes" USING btree ("flag_id","environment_id","at");
