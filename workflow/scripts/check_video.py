"""All resolutions of a video agree in frames, and the ground truth lines up at each."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    import json
    from pathlib import Path

    from facebench.errors import FacebenchError
    from facebench.fileio import write_json
    from facebench.recognition.boxes import MATCH_IOU
    from facebench.recognition.detector import load_detector
    from facebench.videos.groundtruth import read_groundtruth
    from facebench.videos.lineup import lineup_recall
    from facebench.videos.transcode import check_resolutions

    resolutions = snakemake.params.resolutions
    probes = {
        r: json.loads(Path(p).read_text())
        for r, p in zip(resolutions, snakemake.input.json, strict=True)
    }
    check_resolutions(probes)
    detector = load_detector(
        snakemake.params.detector, Path(snakemake.params.models_dir), snakemake.threads
    )
    lineup = {}
    for res, video, truth in zip(
        resolutions, snakemake.input.mp4, snakemake.input["groundtruth.csv"], strict=True
    ):
        groundtruth = read_groundtruth(Path(truth))
        if not probes[res]["has_groundtruth"]:
            lineup[res] = "not measured: the video has no ground truth"
            continue
        lineup[res] = lineup_recall(
            Path(video), groundtruth, detector, snakemake.params.lineup_frames
        )
        print(res, lineup[res])
        min_recall = snakemake.params.lineup_min_recall
        if lineup[res]["detectable_faces"] and lineup[res]["recall"] < min_recall:
            raise FacebenchError(
                f"{truth}: ground truth does not line up with {video} (recall "
                f"{lineup[res]['recall']:.2f} < {min_recall:g} at IoU {MATCH_IOU:g})"
            )
    write_json(
        Path(snakemake.output.check),
        {
            "frame_count": probes[resolutions[0]]["frame_count"],
            "fps": probes[resolutions[0]]["fps"],
            "resolutions": {r: [p["width"], p["height"]] for r, p in probes.items()},
            "lineup": lineup,
        },
    )
