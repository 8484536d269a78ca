CROP_DISTANCE_INPUTS = [
    (video, res) for video in GENERATED_VIDEOS for res in RESOLUTIONS
]


rule crop_distance:
    input:
        videos=[f"resources/videos/{v}/{r}.mp4" for v, r in CROP_DISTANCE_INPUTS],
        groundtruth=[
            f"resources/videos/{v}/{r}.groundtruth.csv"
            for v, r in CROP_DISTANCE_INPUTS
        ],
        faces=FACES_DIR,
        gallery=get_enrolled_gallery,
        detector=get_gallery_detector_models,
        models=lambda wildcards: backend_models("recognizer", gallery_recognizers()[0]),
    output:
        csv="results/openset/crop_distance.csv",
        svg=report(
            "results/openset/crop_distance.svg",
            caption="../report/openset/crop_distance.rst",
            category=OPENSET_CATEGORY,
            labels={"figure": "extra", "subject": "crop distance"},
        ),
    log:
        "logs/analysis/crop_distance.log",
    benchmark:
        "benchmarks/analysis/crop_distance.tsv"
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    params:
        inputs=CROP_DISTANCE_INPUTS,
        models_dir=get_models_dir,
        detector=config["gallery"]["detector"],
        recognizer=gallery_recognizers()[0],
        crop_margin=config["crop_margin"],
    script:
        "../scripts/crop_distance.py"
