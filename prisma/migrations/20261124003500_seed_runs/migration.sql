-- CreateTable
CREATE TABLE "seed_runs" (
    "id" VARCHAR(26) NOT NULL,
    "command" VARCHAR(16) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "profile" VARCHAR(16) NOT NULL,
    "seed" BIGINT NOT NULL,
    "scale" INTEGER NOT NULL,
    "method" VARCHAR(16),
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "finished_at" TIMESTAMPTZ(6) NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "rows_per_table" JSONB NOT NULL DEFAULT '{}',
    "fingerprints" JSONB,
    "local_accounts" VARCHAR(64),
    "error_code" VARCHAR(32),
    "error_message" TEXT,

    CONSTRAINT "seed_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "seed_runs_started_at_idx" ON "seed_runs"("started_at");

-- CreateIndex
CREATE INDEX "seed_runs_profile_seed_scale_idx" ON "seed_runs"("profile", "seed", "scale");
