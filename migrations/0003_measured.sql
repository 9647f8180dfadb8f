ALTER TABLE "flag_configs" ADD COLUMN "measured" boolean DEFAULT false NOT NULL;
