"""What operators do to tasks: repairs, gates, staleness sweeps, the dead-letter queue."""
