include: "functions/convert.smk"


rule export_savedmodel:
    input:
        model="resources/models/tf/{net}.keras",
    output:
        savedmodel=directory("resources/models/savedmodel/{net}"),
    log:
        "logs/convert/export_savedmodel/{net}.log",
    localrule: True
    conda:
        "../envs/convert.yaml"
    script:
        "../scripts/export_savedmodel.py"


rule convert_tflite:
    input:
        savedmodel=rules.export_savedmodel.output.savedmodel,
    output:
        model="resources/models/tflite/{net}_{precision}.tflite",
    log:
        "logs/convert/tflite/{net}_{precision}.log",
    localrule: True
    conda:
        "../envs/convert.yaml"
    script:
        "../scripts/convert_tflite.py"


rule convert_onnx:
    input:
        model="resources/models/tf/{net}.keras",
    output:
        model="resources/models/onnx/{net}.onnx",
    log:
        "logs/convert/onnx/{net}.log",
    localrule: True
    conda:
        "../envs/convert.yaml"
    params:
        opset=config["models"]["onnx_opset"],
    script:
        "../scripts/convert_onnx.py"


rule convert_openvino:
    input:
        model=rules.convert_onnx.output.model,
    output:
        xml="resources/models/openvino/{net}.xml",
        bin="resources/models/openvino/{net}.bin",
    log:
        "logs/convert/openvino/{net}.log",
    localrule: True
    conda:
        "../envs/convert.yaml"
    script:
        "../scripts/convert_openvino.py"


if TENSORRT_SKIP_REASON:

    rule skip_tensorrt:
        output:
            note="resources/models/tensorrt/SKIPPED.json",
        log:
            "logs/convert/tensorrt/SKIPPED.log",
        localrule: True
        conda:
            "../envs/convert.yaml"
        params:
            reason=TENSORRT_SKIP_REASON,
        script:
            "../scripts/skip_tensorrt.py"

else:

    rule convert_tensorrt:
        input:
            model=rules.convert_onnx.output.model,
        output:
            engine="resources/models/tensorrt/{net}_{precision}.engine",
        log:
            "logs/convert/tensorrt/{net}_{precision}.log",
        localrule: True
        conda:
            "../envs/convert.yaml"
        script:
            "../scripts/convert_tensorrt.py"
