"""The open-set analysis: the galleries read beside the aggregate, rank-1, FRR and FAR per
threshold and minimum face size, distance distributions, and the figures."""
