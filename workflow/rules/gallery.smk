include: "functions/gallery.smk"


rule enroll_gallery:
    input:
        faces=FACES_DIR,
        people=config["gallery"]["people_dirs"],
        detector=get_gallery_detector_models,
        models=get_recognizer_models,
    output:
        gallery="resources/gallery/{recognizer}.npz",
        metadata="resources/gallery/{recognizer}.json",
        curve="resources/gallery/{recognizer}_lopo.csv",
    log:
        "logs/gallery/{recognizer}.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    params:
        models_dir=get_models_dir,
        detector=config["gallery"]["detector"],
        settings=plan.gallery_settings(config),
        alignment=config["alignment"],
        crop_margin=config["crop_margin"],
    script:
        "../scripts/enroll_gallery.py"
