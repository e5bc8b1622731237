-- Counting down the children of one completed step (enqueue_ready_children, which every
-- single completion calls) runs enqueue_children_of's statement of seven parts. PostgreSQL
-- planned that statement afresh on every call, because its plan for the given array looked
-- cheaper than a generic one, and the planning cost about a third of a chain step. For one
-- parent a generic plan (index lookups by uuid) serves every call; the setting holds for the
-- calls this function makes. Batch completions (complete_and_claim_many) pass many parents
-- and keep plans made for them.
ALTER FUNCTION tasker.enqueue_ready_children(uuid, uuid, varchar, integer)
    SET plan_cache_mode = force_generic_plan;
