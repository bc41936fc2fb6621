"""The benchmark: `make bench` generates a realistic dataset, serves the app as in production
and measures it from a separate process. See bench/README.md."""
