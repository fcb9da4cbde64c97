"""Benchmarks of Tracker against a large PostgreSQL database: `make bench` runs bench.run."""
