"""The cloud, edge and hybrid strategies' analysis: run directories read into tables, the
comparison per link and input with its winner and the paper's Table 2, and the figures."""
