"""The Snakemake report's entries: each output's name, category and labels. Kept free of
plotting and table libraries so that parsing the workflow imports none of them."""

from __future__ import annotations

FIGURE_CATEGORY = {  # the category of each figure (file stem, results/figures/)
    "fig07_phase_times": "Speed",
    "fig09_fps_per_resolution": "Speed",
    "fig10_time_per_resolution": "Speed",
    "latency_cdf": "Speed",
    "fig08_faces_per_device": "Faces and accuracy",
    "fig11_faces_per_resolution": "Faces and accuracy",
    "accuracy": "Faces and accuracy",
    "fig12_pair_fps": "Pair and memory",
    "fig13_memory": "Pair and memory",
    "fig14_pair_memory": "Pair and memory",
    "fig15_power": "Power and energy",
    "fig16_power_by_framework": "Power and energy",
    "energy_per_frame": "Power and energy",
    "paper_vs_ours": "Paper vs ours",
}
TABLES = ("table6", "per_resolution", "accuracy", "accuracy_per_run", "energy", "paper_vs_ours")
OPENSET_CATEGORY = "Open-set identification"
OPENSET_TABLES = ("thresholds", "openset", "distances")
OPENSET_FIGURES = ("det", "distances_figure", "rates", "min_face")
# The accuracy mode's open-set results (analysis.openset.video_summary), same category.
ACCURACY_TABLES = (
    "accuracy_set",
    "video_rates",
    "video_size_bins",
    "video_threshold",
    "video_min_face",
)
ACCURACY_FIGURES = ("video_det", "video_det_sizes", "video_min_face_figure")
STRATEGY_CATEGORY = "Cloud vs edge vs hybrid"
STRATEGY_TABLES = ("table2", "summary", "winners")
STRATEGY_FIGURES = ("strategies_latency", "strategies_bandwidth", "strategies_accuracy")
SERVING_CATEGORY = "One server, many cameras"
SERVING_TABLES = ("points", "capacity", "batching", "harness")
SERVING_FIGURES = ("serving_throughput", "serving_latency", "serving_breakdown")
FAST_CATEGORY = "Fast preset"


def figure_labels(name: str) -> dict[str, str]:
    """The labels of figure ``name``: its number in the paper ("extra" for ours) and its
    subject, e.g. ``{"figure": "Fig. 7", "subject": "phase times"}``."""
    number, _, subject = name.partition("_")
    if number.startswith("fig") and number[3:].isdigit():
        return {"figure": f"Fig. {int(number[3:])}", "subject": subject.replace("_", " ")}
    return {"figure": "extra", "subject": name.replace("_", " ")}


def table_category(name: str) -> str:
    return "Paper vs ours" if name == "paper_vs_ours" else "Tables"


def table_labels(name: str) -> dict[str, str]:
    """The label of table ``name``: "Table 6", "per resolution", ..."""
    return {"table": "Table 6" if name == "table6" else name.replace("_", " ")}
