rule run_inference:
    input:
        video="resources/videos/{video}/{res}.mp4",
        gallery="resources/gallery/{recognizer}.npz",
        detector=get_run_detector_models,
        models=get_recognizer_models,
    output:
        frames="results/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}/frames.csv",
        faces="results/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}/faces.csv",
        run="results/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}/run.json",
    log:
        "logs/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}.log",
    benchmark:
        "benchmarks/runs/{device}/{detector}__{recognizer}/{video}_{res}/rep{repeat}.tsv"
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    resources:
        bench=1,
    params:
        models_dir=get_models_dir,
        run=get_run_params,
        alignment=config["alignment"],
    script:
        "../scripts/run_inference.py"


rule list_skipped_runs:
    output:
        skipped="results/runs/{device}/skipped.csv",
    log:
        "logs/runs/{device}/skipped.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    params:
        matrix=get_run_matrix,
    script:
        "../scripts/list_skipped_runs.py"


rule measure_sampler_overhead:
    input:
        video=f"resources/videos/{VIDEOS[0]}/{list(RESOLUTIONS)[-1]}.mp4",
        models=get_gallery_detector_models,
    output:
        overhead="results/runs/{device}/sampler_overhead.json",
    log:
        "logs/runs/{device}/sampler_overhead.log",
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    resources:
        bench=1,
    params:
        models_dir=get_models_dir,
        detector=config["gallery"]["detector"],
        seconds=config["runs"].get("sampler_check_s", 20),
        period_s=RUNS["sampler_period_s"],
    script:
        "../scripts/measure_sampler_overhead.py"
