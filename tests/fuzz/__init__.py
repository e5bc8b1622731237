"""The fuzz harness: hostile templates, compositions and contexts against tasker-ctl's commands.

See tests/fuzz/README.md: ``python -m tests.fuzz`` runs it in full, ``test_fuzz.py`` runs a
bounded, seeded subset with the test suite.
"""
