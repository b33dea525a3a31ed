"""Schemas: pydantic models for untrusted input and for output at the boundary."""
