"""What this device can run (results/runs/<device>/capabilities.json), probed on the device;
a declaration of the config that the probe contradicts is a warning line in the log."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: framework start-up chatter goes to the log too
    from pathlib import Path

    from facebench.fileio import write_json
    from facebench.harness.probe import probe
    from facebench.schemas import validate_document

    device = snakemake.wildcards.device
    capabilities = probe(device, snakemake.params.gpu)
    validate_document(capabilities, "capabilities", snakemake.output.capabilities)
    for line in capabilities["disagreements"]:
        print(f"warning: {device}: {line}")
    write_json(Path(snakemake.output.capabilities), capabilities)
