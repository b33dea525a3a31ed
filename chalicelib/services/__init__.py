"""Service layer: use-cases that run domain decisions through ports."""
