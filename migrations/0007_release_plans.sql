CREATE TABLE "release_plans" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"flag_id" uuid NOT NULL,
	"environment_id" uuid NOT NULL,
	"variant" text NOT NULL,
	"control" text NOT NULL,
	"stages" jsonb NOT NULL,
	"guards" jsonb NOT NULL,
	"on_breach" text NOT NULL,
	"state" text NOT NULL,
	"stage" integer DEFAULT -1 NOT NULL,
	"stage_started_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"measured_before" boolean,
	"revision" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "release_plans_state" CHECK ("release_plans"."state" in ('draft', 'running', 'paused', 'completed', 'rolled_back', 'aborted')),
	CONSTRAINT "release_plans_on_breach" CHECK ("release_plans"."on_breach" in ('rollback', 'kill', 'pause'))
);
--> statement-breakpoint
CREATE TABLE "release_plan_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"plan_id" uuid NOT NULL,
	"revision" integer NOT NULL,
	"action" text NOT NULL,
	"state" text NOT NULL,
	"stage" integer NOT NULL,
	"actor" text NOT NULL,
	"reason" text NOT NULL,
	"details" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "release_plans" ADD CONSTRAINT "release_plans_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_plans" ADD CONSTRAINT "release_plans_flag_id_flags_id_fk" FOREIGN KEY ("flag_id") REFERENCES "public"."flags"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_plans" ADD CONSTRAINT "release_plans_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_plan_history" ADD CONSTRAINT "release_plan_history_plan_id_release_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "public"."release_plans"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "release_plans_one_open" ON "release_plans" USING btree ("flag_id","environment_id") WHERE "release_plans"."state" in ('draft', 'running', 'paused');--> statement-breakpoint
CREATE INDEX "release_plans_flag_environment" ON "release_plans" USING btree ("flag_id","environment_id","created_at");--> statement-breakpoint
CREATE INDEX "release_plans_running" ON "release_plans" USING btree ("state") WHERE "release_plans"."state" = 'running';--> statement-breakpoint
CREATE INDEX "release_plan_history_plan" ON "release_plan_history" USING btree ("plan_id","id");
