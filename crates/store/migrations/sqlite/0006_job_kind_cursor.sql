-- Background jobs are re-scores (`rescore`: every contact by the active model) or challenger
-- back-fills (`backfill`: every contact scored in shadow by the challenger, model_version
-- being the challenger's). resume_after is the last contact id of the last chunk done (ids
-- are taken in order), so a back-fill a stopped process left `interrupted` goes on after it.
-- The postgres/ twin is the same.
ALTER TABLE rescore_jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'rescore';
ALTER TABLE rescore_jobs ADD COLUMN resume_after TEXT NOT NULL DEFAULT '';
