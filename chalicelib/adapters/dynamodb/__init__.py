"""Adapters: DynamoDB persistence through PynamoDB models private to this package."""
