"""Serving benchmarks: many cameras and open-loop load against one recognition server."""
