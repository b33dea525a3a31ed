"""Entry points: Chalice blueprints, the only code that imports chalice."""
