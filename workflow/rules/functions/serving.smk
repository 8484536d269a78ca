def serving_video(wildcards=None):
    return f"resources/videos/{SERVING['video']}/{SERVING['resolution']}.mp4"


def get_serving_models(wildcards):
    """The detector (the hybrid edge half, prepared once) and the server's recognizer."""
    recognizer = [] if wildcards.model == NOOP else [wildcards.model]
    return [
        *backend_models("detector", SERVING["detector"]),
        *(m for r in recognizer for m in backend_models("recognizer", r)),
    ]


def get_serving_gallery(wildcards):
    """The gallery the server identifies with (the hybrid edge half needs one too)."""
    return f"resources/gallery/{plan.serving_recognizer(config, wildcards.model)}.npz"


def get_serving_params(wildcards):
    return plan.serving_params(config, wildcards.model)


def get_serving_runs(wildcards):
    return plan.serving_runs(config)


def get_serving_groundtruth(wildcards):
    if SERVING_REASON:
        return []
    return [
        f"resources/videos/{SERVING['video']}/{SERVING['resolution']}.groundtruth.csv"
    ]


def serving_output(name, kind):
    suffix = "svg" if kind == "figure" else "html"
    labels = {"figure": "extra", "subject": name.replace("_", " ")}
    return report(
        f"results/serving/{name}.{suffix}",
        caption=f"../report/serving/{name}.rst",
        category=SERVING_CATEGORY,
        labels=labels if kind == "figure" else {"table": f"serving {name}"},
    )
