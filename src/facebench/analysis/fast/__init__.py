"""The fast preset against the default pipeline: each side's runs read from the aggregate, the
comparison of speed, accuracy and boxes with its verdicts, and the figure."""
