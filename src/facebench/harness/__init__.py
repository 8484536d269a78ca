"""The benchmark harness: one timed run, its frame loop and metadata, device probes, latency,
parity and bench."""
