-- Multi-phase planning and agent chains.
--
-- A planning attempt is either a planner's call for a fragment ('plan') or a call that
-- summarizes a large upstream result for the next phase's prompt ('summarize'): both are model
-- calls, counted in the budget and shown by `inspect --planning`. `context_inputs` says, for
-- each input of the prompt, how it was given to the model (verbatim, a structured summary, a
-- summarization call, a reference) and its size before and after, so that nothing is dropped
-- silently.
ALTER TABLE tasker.planning_attempts
    ADD COLUMN purpose varchar(16) NOT NULL DEFAULT 'plan'
        CHECK (purpose IN ('plan', 'summarize')),
    ADD COLUMN context_inputs jsonb NOT NULL DEFAULT '[]';

-- The limits of the delegation chain a task starts (its parent_correlation_id is NULL or
-- names no task): delegation depth and an aggregate budget over every task of the chain,
-- checked when a task joins it. {} when the chain has none.
ALTER TABLE tasker.tasks ADD COLUMN chain_limits jsonb NOT NULL DEFAULT '{}';
