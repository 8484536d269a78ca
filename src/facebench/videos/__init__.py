"""Synthetic test videos with ground truth, their transcodes, and the swappable frame reader."""
