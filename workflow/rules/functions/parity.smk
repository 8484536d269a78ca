def get_backend_models(wildcards):
    return backend_models(wildcards.role, wildcards.backend)


def get_parity_rows(wildcards):
    return [
        f"results/parity/{role}/{backend}.json"
        for role in ("detector", "recognizer")
        for backend in plan.runnable(role, config["parity"][f"{role}s"], backend_reason)
    ]
