"""Build P-, R- and O-Net as Keras models from the weights the mtcnn package ships."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.models.mtcnn_nets import save_mtcnn_nets

    written = save_mtcnn_nets(Path(snakemake.output.models[0]).parent)
    print("wrote", ", ".join(str(p) for p in written.values()))
