"""Open-set results of the accuracy set: FNIR at FPIR per frame and per track with intervals and
counts, size bins, the video-calibrated threshold and minimum face size, DET figures."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):
    import json
    from pathlib import Path

    from facebench.analysis.openset.video_summary import VideoSettings, write_accuracy_set_outputs

    photo_thresholds = {
        Path(p).stem: json.loads(Path(p).read_text())["threshold_l2"]
        for p in snakemake.input.galleries
    }
    written = write_accuracy_set_outputs(
        {Path(p).stem: Path(p) for p in snakemake.input.sets},
        photo_thresholds,
        Path(snakemake.output.threshold).parent,
        VideoSettings(
            snakemake.params.replicates, snakemake.params.seed, snakemake.params.min_face_rank1
        ),
    )
    print("\n".join(map(str, written)))
