"""The serving experiment's analysis: run directories read into tables, the points, capacity,
batching and harness tables, and the figures."""
