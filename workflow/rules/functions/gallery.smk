def get_recognizer_models(wildcards):
    return backend_models("recognizer", wildcards.recognizer)
