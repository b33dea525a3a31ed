"""Adapters: the only code that talks to AWS and third-party libraries."""
