"""Benchmarks of the data layer, each measured against a baseline in the same run (`make bench`)."""
