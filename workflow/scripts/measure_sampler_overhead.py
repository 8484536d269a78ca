"""The sensor sampler's own cost at the runs' period: detection frames/s with and without it, in
alternating short trials, with an interval on the median paired cost."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.fileio import write_json
    from facebench.recognition.detector import load_detector
    from facebench.sensors import sampler_overhead
    from facebench.videos.reader import open_reader

    with open_reader(Path(snakemake.input.video)) as reader:
        frame = next(iter(reader))
    detector = load_detector(
        snakemake.params.detector, Path(snakemake.params.models_dir), snakemake.threads
    )
    overhead = sampler_overhead(
        lambda: detector.detect(frame),
        snakemake.params.seconds,
        period_s=snakemake.params.period_s,
    )
    overhead.update(workload=f"{snakemake.params.detector} MTCNN on {snakemake.input.video}")
    print(overhead)
    write_json(Path(snakemake.output.overhead), overhead)
