"""Benchmarks: `make bench` measures throughput, AWS request counts and monthly cost.

See docs/benchmarks.md for every figure, its unit and the bound printed beside it.
"""
