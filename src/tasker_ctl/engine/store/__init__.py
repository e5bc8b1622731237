"""The database boundary: the connection, named queries, migrations, the clock, reconnecting.

The only part of tasker-ctl that imports psycopg (``connection``).
"""
