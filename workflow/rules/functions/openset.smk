def openset_output(name, kind):
    """A report entry of the open-set analysis: a figure (SVG) or a table (HTML)."""
    stem = name.removesuffix("_figure")
    suffix = "svg" if kind == "figure" else "html"
    return report(
        f"results/openset/{stem}.{suffix}",
        caption=f"../report/openset/{name}.rst",
        category=OPENSET_CATEGORY,
        labels=(
            {"figure": "extra", "subject": stem.replace("_", " ")}
            if kind == "figure"
            else {"table": stem}
        ),
    )


def get_gallery_sidecars(wildcards):
    return expand(
        "resources/gallery/{recognizer}.json", recognizer=gallery_recognizers()
    )


def get_gallery_curves(wildcards):
    return expand(
        "resources/gallery/{recognizer}_lopo.csv", recognizer=gallery_recognizers()
    )


def get_video_threshold(wildcards):
    """The accuracy set's video-calibrated thresholds: the runs' faces are re-scored with them
    in the analysis (never inside the timed runs); none when the accuracy mode is off.
    """
    return ["results/openset/video_threshold.json"] if accuracy_recognizers() else []
