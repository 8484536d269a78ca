"""The recognition server and what its clients share: the wire protocol, the pipeline flags and
clip handling, and the dynamic batcher; used by the strategies and the serving benchmarks."""
