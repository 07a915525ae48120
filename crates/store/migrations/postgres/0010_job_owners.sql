-- Job owners: the node (its random id) running a re-score, back-fill or retrain job. Each node
-- holds the lease `node:<id>` while it is alive and renews it every few seconds; a `running`
-- job whose owner's lease has lapsed (or that has no owner: a job from before this migration)
-- was left by a node that stopped, and is marked `interrupted` (then resumed) by the first
-- node that notices. A node starting beside live ones leaves their jobs alone. The other twin
-- is the same.
ALTER TABLE rescore_jobs ADD COLUMN owner TEXT;
