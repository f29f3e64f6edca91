"""Operators shared by more than one pipeline; a pipeline's own live in ``etl_bundle.<pipeline>.operators``."""
