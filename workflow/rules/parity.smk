include: "functions/parity.smk"


rule compute_reference:
    input:
        faces=FACES_DIR,
        models=[str(model_file(MODELS_DIR, "tf", net)) for net in NETS],
    output:
        reference="results/parity/reference.npz",
    log:
        "logs/parity/compute_reference.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    params:
        models_dir=get_models_dir,
        alignment=config["alignment"],
        max_photos_per_person=config["parity"]["max_photos_per_person"],
    script:
        "../scripts/compute_reference.py"


rule check_facenet_quality:
    input:
        reference=rules.compute_reference.output.reference,
    output:
        quality=report(
            "results/parity/facenet_quality.json",
            caption="../report/facenet_quality.rst",
            category="Models",
            labels={"check": "FaceNet quality"},
        ),
    log:
        "logs/parity/check_facenet_quality.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    params:
        min_accuracy=config["parity"]["min_facenet_accuracy"],
        alignment=config["alignment"],
    script:
        "../scripts/check_facenet_quality.py"


rule check_backend_parity:
    input:
        reference=rules.compute_reference.output.reference,
        faces=FACES_DIR,
        models=get_backend_models,
    output:
        row="results/parity/{role}/{backend}.json",
    log:
        "logs/parity/{role}/{backend}.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    threads: workflow.cores
    params:
        models_dir=get_models_dir,
        alignment=config["alignment"],
        max_photos_per_person=config["parity"]["max_photos_per_person"],
    script:
        "../scripts/check_backend_parity.py"


rule gather_parity:
    input:
        rows=get_parity_rows,
    output:
        table=report(
            "results/parity/parity.csv",
            caption="../report/parity.rst",
            category="Parity",
            labels={"table": "parity"},
        ),
    log:
        "logs/parity/gather_parity.log",
    localrule: True
    conda:
        "../envs/runtime.yaml"
    params:
        parity=config["parity"],
    script:
        "../scripts/gather_parity.py"
