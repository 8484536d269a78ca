"""Analysis of the benchmark runs: aggregation into parquet, detection and identification
accuracy against the ground truth, the paper's tables and figures, and the claims check."""
