"""Synthetic test videos with ground truth, their transcodes, and the swappable frame reader."""

# The paper's three resolutions (Table 5): name -> (width, height). The workflow's are in the
# config (videos.resolutions); these are the ones the paper, the benchmark and the synthetic
# analysis data use.
RESOLUTIONS = {"480": (720, 480), "HD": (1280, 720), "FHD": (1920, 1080)}
