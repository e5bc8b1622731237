-- The engine's clock (tasker_ctl.engine.store.clock).

-- name: engine_now
-- The engine's time: tasker.now(), which honours the session's tasker.fake_now.
SELECT tasker.now() AS now;
