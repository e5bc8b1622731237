"""The dashboard figures of ``tasker-ctl stats`` and their alerts."""
