"""Backends write the IR to a target format."""
