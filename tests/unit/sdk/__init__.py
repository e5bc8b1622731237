"""Tests of the handler SDK (``tasker_ctl.sdk``)."""
