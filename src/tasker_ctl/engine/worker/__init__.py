"""A worker's runtime: claiming a step, running its handler (in the thread or a process),
recording the outcome, heartbeats."""
