"""Pure rules over a template and its outcomes: states, retry delays, decisions, batches and
budget limits. Nothing here reads the database."""
