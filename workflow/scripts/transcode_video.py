"""Transcode a master video to one resolution (at the user's fps override, if any); probe it;
move its ground truth along."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    import pandas as pd

    from facebench.fileio import write_json
    from facebench.videos.groundtruth import (
        GROUNDTRUTH_COLUMNS,
        read_groundtruth,
        validate_groundtruth,
        write_groundtruth,
    )
    from facebench.videos.transcode import probe_video, scale_groundtruth, transcode

    master, out = Path(snakemake.input.video), Path(snakemake.output.video)
    width, height = snakemake.params.size
    fps = snakemake.params.fps
    source = probe_video(master, fps)
    groundtruth = pd.DataFrame(columns=list(GROUNDTRUTH_COLUMNS))  # header only: no ground truth
    if snakemake.input.groundtruth:
        groundtruth = read_groundtruth(Path(snakemake.input.groundtruth))
        validate_groundtruth(groundtruth, source["frame_count"], Path(snakemake.input.groundtruth))
    transform = transcode(
        master,
        out,
        width,
        height,
        snakemake.params.fit,
        snakemake.params.crf,
        snakemake.params.ffmpeg or None,
        fps,
        source["frame_count"],
    )
    if len(groundtruth):
        groundtruth = scale_groundtruth(
            groundtruth, transform, width, height, snakemake.params.min_detectable_px
        )
    write_groundtruth(groundtruth, Path(snakemake.output.groundtruth))
    probe = probe_video(out)
    probe.update(
        source=str(master),
        fit=snakemake.params.fit,
        transform=list(transform),
        has_groundtruth=bool(len(groundtruth)),
    )
    write_json(Path(snakemake.output.probe), probe)
    print(probe)
