"""Read models: what a task, its events, lineage and budget look like to people and scripts."""
