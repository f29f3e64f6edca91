"""Mechanisms shared by the pipelines."""
