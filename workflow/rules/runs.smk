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
        CONDA_ENV
    threads: workflow.cores
    resources:
        bench=1,
    params:
        models_dir=get_models_dir,
        runs=RUNS,
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
        CONDA_ENV
    params:
        matrix=get_run_matrix,
    script:
        "../scripts/list_skipped_runs.py"
