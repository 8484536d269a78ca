def get_converted_models():
    """Every converted model file (and the TensorRT skip note where it cannot be built)."""
    files = [
        model_file(MODELS_DIR, fw, net) for fw in ("onnx", "openvino") for net in NETS
    ]
    files += [model_file(MODELS_DIR, "tflite", net) for net in NETS]
    files.append(model_file(MODELS_DIR, "tflite", FACENET, "int8"))
    if TENSORRT_SKIP_REASON:
        files.append(MODELS_DIR / "tensorrt" / "SKIPPED.json")
    else:
        files += [
            model_file(MODELS_DIR, "tensorrt", net, precision)
            for net in NETS
            for precision in config["models"]["tensorrt_precisions"]
        ]
    return files
