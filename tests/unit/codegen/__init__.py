"""Tests of code generation (``tasker_ctl.codegen``) and its scaffolds."""
