"""Tests of the invoice file readers."""
