include: "functions/videos.smk"


rule render_master:
    input:
        faces=FACES_DIR,
        models=get_gallery_detector_models,
    output:
        video="resources/videos/{video}/master.mp4",
        groundtruth="resources/videos/{video}/groundtruth.csv",
    log:
        "logs/videos/{video}/render_master.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    params:
        spec=get_video_spec,
        models_dir=get_models_dir,
        detector=config["gallery"]["detector"],
        crf=config["videos"]["master_crf"],
        min_detectable_px=config["videos"]["min_detectable_px"],
        size=config["videos"]["master_size"],
        max_faces=config["videos"]["max_faces"],
        face_height_px=config["videos"]["face_height_px"],
    script:
        "../scripts/render_master.py"


rule transcode_video:
    input:
        video=get_master_video,
        groundtruth=get_master_groundtruth,
    output:
        video="resources/videos/{video}/{res}.mp4",
        probe="resources/videos/{video}/{res}.json",
        groundtruth="resources/videos/{video}/{res}.groundtruth.csv",
    log:
        "logs/videos/{video}/transcode_{res}.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: 2
    params:
        size=get_resolution_size,
        fps=get_video_fps,
        fit=config["videos"]["fit"],
        crf=config["videos"]["crf"],
        ffmpeg=config["videos"]["ffmpeg"],
        min_detectable_px=config["videos"]["min_detectable_px"],
    script:
        "../scripts/transcode_video.py"


rule check_video:
    input:
        unpack(get_video_outputs),
        models=get_gallery_detector_models,
    output:
        check="results/videos/{video}/check.json",
    log:
        "logs/videos/{video}/check.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    params:
        models_dir=get_models_dir,
        detector=config["gallery"]["detector"],
        resolutions=list(RESOLUTIONS),
        lineup_frames=config["videos"]["lineup_frames"],
        lineup_min_recall=config["videos"]["lineup_min_recall"],
    script:
        "../scripts/check_video.py"
