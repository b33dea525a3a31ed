"""Relance: automated, human-supervised payment collection on AWS serverless."""
