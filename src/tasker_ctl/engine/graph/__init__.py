"""Creating and growing a task's graph: registering templates, creating tasks, writing the steps
an outcome adds."""
