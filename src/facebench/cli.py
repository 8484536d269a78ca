"""The ``facebench`` command line: ``backends``, ``probe``, ``bench``, ``enroll``, ``run``,
``analyse``, ``collect``, ``link-check`` and ``strategy``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from facebench.errors import FacebenchError


def _positive_float(text: str) -> float:
    """An argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not > 0")
    return value


def _cmd_backends(args: argparse.Namespace) -> None:
    from facebench.backends.registry import availability

    rows = availability()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "available" if row["available"] else f"not available: {row['reason']}"
        print(f"{row['role']:10s} {row['backend']:14s} {state}")


def _cmd_probe(args: argparse.Namespace) -> None:
    from facebench.fileio import write_json
    from facebench.harness.probe import probe
    from facebench.schemas import validate_document

    capabilities = probe(args.device, args.gpu)
    validate_document(capabilities, "capabilities", args.out or "facebench probe")
    if args.out:
        write_json(Path(args.out), capabilities)
    else:
        print(json.dumps(capabilities, indent=2, sort_keys=True))
    for line in capabilities["disagreements"]:
        print(f"warning: {args.device or 'this host'}: {line}", file=sys.stderr)


def _print_bench(result: dict) -> None:
    print(f"host {result['host']} ({result['cpu']}), {result['threads']} threads")
    header = (
        f"{'kind':7s} {'backend':14s} {'input':7s} {'init s':>7s} {'first s':>8s} "
        f"{'calls':>6s} {'p50 ms':>9s} {'p90 ms':>9s} {'p99 ms':>9s} {'CoV':>6s} "
        f"{'ms/item':>8s} {'extra':>10s}"
    )
    print(header)
    for r in result["rows"]:
        extra = f"{r['gflops']:.1f} GFLOPS" if "gflops" in r else ""
        extra = (
            f"{r['gflops']:.0f} GFLOPS, {r['floor_ms']:.2f} ms/face" if "floor_ms" in r else extra
        )
        extra = f"{r['faces']} faces" if "faces" in r else extra
        print(
            f"{r['kind']:7s} {r['backend']:14s} {r['input']:7s} {r['init_s']:7.2f} "
            f"{r['first_call_s']:8.3f} {r['n_calls']:6d} {r['p50_ms']:9.2f} {r['p90_ms']:9.2f} "
            f"{r['p99_ms']:9.2f} {r['cov']:6.3f} {r['p50_ms_per_item']:8.2f} {extra:>10s}"
        )
    for key, reason in result["skipped"].items():
        print(f"{key}: not measured: {reason}")
    for key, value in result.get("targets", {}).items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"peak RSS {result['peak_rss_mb']:.0f} MB")


def _cmd_bench(args: argparse.Namespace) -> None:
    from facebench.fileio import write_json
    from facebench.harness.bench import run_bench

    result = run_bench(
        Path(args.models_dir),
        Path(args.faces_dir),
        args.threads,
        args.detectors,
        args.recognizers,
        args.min_seconds,
        args.min_calls,
        baselines=not args.no_baselines,
        videos_dir=Path(args.videos_dir),
        pyramids=tuple(args.pyramids),
    )
    _print_bench(result)
    if args.json:
        write_json(Path(args.json), result)


def _cmd_enroll(args: argparse.Namespace) -> None:
    from facebench.recognition.enrolment import Enrolment, enrol_gallery
    from facebench.recognition.photos import gallery_photos
    from facebench.recognition.strangers import bundled_strangers

    gallery = enrol_gallery(
        Path(args.models_dir),
        args.detector,
        args.recognizer,
        args.threads,
        gallery_photos(None, [Path(args.people_dir)]),
        Enrolment(
            tuple(args.unknown),
            args.alignment,
            args.threshold_method,
            args.target_far,
            args.min_face_px,
            args.crop_margin,
        ),
        [] if args.no_bundled_strangers else bundled_strangers(),
        Path(args.out),
    )
    for photo in gallery.metadata["left_out_photos"]:
        print(f"not enrolled: {photo['photo']}: {photo['reason']}", file=sys.stderr)
    people = gallery.metadata["enrolled_people"]
    print(
        f"{args.out}: {len(people)} people ({', '.join(people)}), "
        f"{gallery.metadata['n_enrolled_photos']} photos, threshold L2 {gallery.threshold_l2:.3f}"
    )


def _gallery_recognizer(gallery: str) -> str:
    """The recognizer a gallery was enrolled with (its ``.json``'s ``recognizer``)."""
    from facebench.recognition.gallery import Gallery

    recognizer = Gallery.load(Path(gallery)).metadata.get("recognizer")
    if recognizer is None:
        raise FacebenchError(f"{gallery}: no recognizer recorded; give --recognizer")
    return recognizer


def _print_tracks(faces_csv: Path) -> None:
    """One line per track of a run: its frames, final label and when it settled."""
    import pandas as pd

    faces = pd.read_csv(faces_csv)
    for track, rows in faces.groupby("track_id"):
        settled = rows.loc[rows["track_settled"], "frame"]
        when = f"settled by frame {settled.iloc[0]}" if len(settled) else "not settled"
        print(
            f"track {track}: frames {rows['frame'].min()}-{rows['frame'].max()} "
            f"({len(rows)} faces): {rows['track_identity'].iloc[-1]} ({when})"
        )


def _cmd_run(args: argparse.Namespace) -> None:
    from facebench.harness.benchmark_run import RunConfig, run_benchmark

    config = RunConfig(
        device=args.device,
        detector=args.detector,
        recognizer=args.recognizer,
        video=Path(args.video),
        models_dir=Path(args.models_dir),
        gallery=Path(args.gallery),
        warmup_frames=args.warmup,
        detector_threads=args.threads,
        recognizer_threads=args.threads,
        batching=args.batching,
        pyramid_resize=args.pyramid_resize,
        alignment=args.alignment,
        reader=args.reader,
        sampler_period_s=args.sampler_period_s,
    )
    summary = run_benchmark(config, Path(args.out), args.progress_every)
    print(json.dumps(summary, indent=2, default=float))
    _print_tracks(Path(args.out) / "faces.csv")


def _config(paths: list[str]) -> dict:
    """The workflow configuration of ``paths`` (layered in order), validated and complete."""
    from facebench.config import load_config

    return load_config(paths)


def _device_settings(config: dict) -> tuple[dict[str, str], tuple[str, str] | None]:
    """(class of each device, the declared pair or None) of a workflow configuration."""
    from facebench.devices import class_label

    runs = config["runs"]
    classes = {name: class_label(spec) for name, spec in runs["devices"].items()}
    return classes, tuple(runs["pair"]) or None


def _cmd_analyse(args: argparse.Namespace) -> None:
    from facebench.analysis.accuracy import read_enrolled
    from facebench.analysis.aggregate import device_run_files
    from facebench.analysis.resampling import Resampling
    from facebench.analysis.stages import analyse

    config = _config(args.config)
    device_class, pair = _device_settings(config)
    run_files = device_run_files(Path(args.runs), device_class)
    if not run_files:
        raise FacebenchError(f"{args.runs}: no run of a device of {', '.join(args.config)}")
    print(f"analysing {len(run_files)} runs into {args.out}")
    seconds = analyse(
        run_files,
        device_class,
        Path(args.videos),
        read_enrolled(Path(args.gallery)),
        Path(args.paper_table6),
        pair,
        Path(args.out),
        Path(args.paper_claims),
        config["validity"],
        Path(args.parity),
        Resampling.of(config["statistics"]),
        frozenset(config["videos"]["generated"]),
    )
    for stage, value in seconds.items():
        print(f"  {stage:<13s} {value:6.1f} s")


def _cmd_collect(args: argparse.Namespace) -> None:
    from facebench.collect import collect

    done = collect([Path(s) for s in args.sources], Path(args.into), args.as_repeat)
    for line in [*done.collected, *done.present, *done.refused, *done.rejected]:
        print(line)
    print(done.summary())
    if done.refused or done.rejected:
        raise FacebenchError(
            f"{len(done.refused)} refused, {len(done.rejected)} rejected (lines above); "
            "the rest is collected"
        )


def _strategies_section(paths: list[str]) -> dict:
    """The ``strategies`` section of the workflow configuration of ``paths``."""
    section = _config(paths)["strategies"]
    if not section.get("links"):
        raise FacebenchError(f"{', '.join(paths)}: strategies.links: no link configured")
    return section


def _link(section: dict, name: str, paths: list[str]):
    from facebench.strategies.links import LinkProfile

    if name not in section["links"]:
        known = ", ".join(section["links"])
        raise FacebenchError(f"{', '.join(paths)}: no link {name!r} in strategies.links ({known})")
    return LinkProfile.from_config(name, section["links"][name])


def _cmd_link_check(args: argparse.Namespace) -> None:
    from facebench.strategies.linkcheck import check_link

    profile = _link(_strategies_section(args.config), args.link, args.config)
    print(json.dumps(check_link(profile, Path(args.out))["measured"], indent=2))


def _cmd_strategy(args: argparse.Namespace) -> None:
    from facebench.strategies.experiment import run_strategy
    from facebench.strategies.settings import StrategySettings, settings_params

    section = _strategies_section(args.config)
    profile = _link(section, args.link, args.config)
    settings = StrategySettings(
        models_dir=Path(args.models_dir),
        gallery=Path(args.gallery),
        **settings_params(section, args.alignment),
    )
    try:
        link_check = json.loads(Path(args.link_check).read_text())
    except (OSError, ValueError) as error:
        raise FacebenchError(f"{args.link_check}: not a link check JSON ({error})") from error
    video = Path(args.video)
    meta = run_strategy(
        args.strategy,
        profile,
        link_check,
        video,
        args.video_name or video.stem,
        args.resolution,
        settings,
        Path(args.out),
    )
    print(json.dumps(meta["frames"], indent=2))


def parser() -> argparse.ArgumentParser:
    from facebench.backends.registry import DETECTORS, RECOGNIZERS
    from facebench.config import schema

    top = argparse.ArgumentParser(prog="facebench", description=__doc__)
    defaults = schema()["properties"]  # the workflow's, so the CLI's results match its results
    models = argparse.ArgumentParser(add_help=False)  # flags of every command that loads models
    models.add_argument("--models-dir", default="resources/models")
    models.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads")
    pipeline = argparse.ArgumentParser(add_help=False)  # and of those that detect and crop faces
    pipeline.add_argument("--detector", default="onnx", choices=list(DETECTORS))
    pipeline.add_argument(
        "--alignment", choices=["crop", "similarity"], default=defaults["alignment"]["default"]
    )
    commands = top.add_subparsers(dest="command", required=True)
    backends = commands.add_parser("backends", help="which backends run on this host, and why not")
    backends.add_argument("--json", action="store_true", help="print JSON")
    backends.set_defaults(func=_cmd_backends)
    probe = commands.add_parser(
        "probe", help="what this host can run: frameworks, GPUs, sensors, backends (JSON)"
    )
    probe.add_argument("--device", help="device name of the config this host stands for")
    probe.add_argument("--gpu", help="the GPU the config declares (a probe without one warns)")
    probe.add_argument("--out", metavar="FILE", help="write the JSON here (default: print it)")
    probe.set_defaults(func=_cmd_probe)
    bench = commands.add_parser(
        "bench", parents=[models], help="latency of every backend on real images"
    )
    bench.add_argument("--faces-dir", default="resources/faces")
    bench.add_argument(
        "--videos-dir", default="resources/videos", help="frame readers are timed on its videos"
    )
    bench.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    bench.add_argument(
        "--recognizers", nargs="+", default=list(RECOGNIZERS), choices=list(RECOGNIZERS)
    )
    bench.add_argument(
        "--pyramids",
        nargs="+",
        default=["each", "halving"],
        choices=["each", "halving"],
        help="MTCNN pyramids each detector is timed with (halving: the fast preset's)",
    )
    bench.add_argument("--min-seconds", type=float, default=3.0, help="timed seconds per case")
    bench.add_argument("--min-calls", type=int, default=30, help="timed calls per case")
    bench.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip the mtcnn package and Keras predict baselines",
    )
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    bench.set_defaults(func=_cmd_bench)
    enroll = commands.add_parser(
        "enroll",
        parents=[models, pipeline],
        help="enrol a folder of people (one folder per person) into a gallery .npz",
        description="Enrol PEOPLE_DIR (PEOPLE_DIR/<person>/<photo>, or train/<person> + "
        "val/<person>) as the workflow enrols its galleries: one face per photo, the "
        "threshold chosen by leave-one-person-out for --target-far.",
    )
    enroll.add_argument("people_dir", metavar="PEOPLE_DIR")
    enroll.add_argument("--out", required=True, help="gallery .npz (its .json and curve beside)")
    enroll.add_argument("--recognizer", default="onnx", choices=list(RECOGNIZERS))
    gallery = {key: spec.get("default") for key, spec in defaults["gallery"]["properties"].items()}
    enroll.add_argument(
        "--crop-margin",
        type=float,
        default=defaults["crop_margin"]["default"],
        help="margin around the box, a fraction of its side",
    )
    enroll.add_argument(
        "--threshold-method",
        choices=["target_far", "max_accuracy"],
        default=gallery["threshold_method"],
    )
    enroll.add_argument("--target-far", type=_positive_float, default=gallery["target_far"])
    enroll.add_argument(
        "--min-face-px", type=float, default=gallery["min_face_px"], help="smaller: not identified"
    )
    enroll.add_argument(
        "--unknown", nargs="*", default=[], help="people in PEOPLE_DIR kept out (strangers)"
    )
    enroll.add_argument(
        "--no-bundled-strangers",
        action="store_true",
        help="choose the threshold from PEOPLE_DIR's people alone",
    )
    enroll.set_defaults(func=_cmd_enroll)
    run = commands.add_parser(
        "run",
        parents=[models, pipeline],
        help="process every frame of a video, log each face with its track's identity",
    )
    run.add_argument("video", metavar="VIDEO", help="video file (or a stream URL OpenCV opens)")
    run.add_argument("--device", default=platform.node(), help="name of this host in the results")
    run.add_argument(
        "--recognizer", choices=list(RECOGNIZERS), help="default: the gallery's recognizer"
    )
    run.add_argument("--out", required=True, help="directory for frames.csv, faces.csv, run.json")
    run.add_argument("--gallery", help="gallery .npz (default resources/gallery/<recognizer>.npz)")
    run.add_argument("--warmup", type=int, default=10, help="warm-up frames, excluded from stats")
    run.add_argument("--batching", choices=["per_face", "per_frame"], default="per_face")
    run.add_argument(
        "--pyramid-resize",
        choices=["each", "halving"],
        default="each",
        help="MTCNN pyramid: each level from the frame (mtcnn 1.0) or halving (fast preset)",
    )
    run.add_argument("--reader", choices=["opencv", "pyav"], default="opencv")
    run.add_argument(
        "--sampler-period-s",
        type=_positive_float,
        default=0.010,
        help="seconds between sensor samples (default 0.010)",
    )
    run.add_argument(
        "--progress-every", type=int, default=50, help="print progress every N frames (0: never)"
    )
    run.set_defaults(func=_cmd_run)
    analyse = commands.add_parser(
        "analyse", help="aggregate runs into the paper's tables, claims check and figures"
    )
    analyse.add_argument(
        "--config",
        nargs="+",
        default=["config/config.yaml"],
        help="config files, layered in order: devices and pair",
    )
    analyse.add_argument("--runs", default="results/runs")
    analyse.add_argument("--videos", default="resources/videos", help="ground truth is here")
    analyse.add_argument(
        "--gallery", default="resources/gallery/onnx.json", help="gallery metadata (enrolled)"
    )
    analyse.add_argument("--paper-table6", default="resources/paper/table6_reconstructed.csv")
    analyse.add_argument(
        "--paper-claims",
        default="resources/paper/claims.yaml",
        help="the paper's claims: numbers, prose and sources",
    )
    analyse.add_argument(
        "--parity",
        default="results/parity/parity.csv",
        help="backend parity table (absent: the validity rule on parity is not checked)",
    )
    analyse.add_argument("--out", default="results/analysis", help="output directory")
    analyse.set_defaults(func=_cmd_analyse)
    collect = commands.add_parser(
        "collect", help="bring result trees copied from other hosts into one runs tree"
    )
    collect.add_argument(
        "sources", nargs="+", metavar="SRC", help="a results/runs tree (or its <device>/ dirs)"
    )
    collect.add_argument("--into", default="results/runs", help="the runs tree to fill")
    collect.add_argument(
        "--as-repeat",
        action="store_true",
        help="file a run that differs from the one already there as the next free rep<k>",
    )
    collect.set_defaults(func=_cmd_collect)
    link_check = commands.add_parser(
        "link-check", help="build one emulated link and measure its RTT, rates and loss (root)"
    )
    link_check.add_argument("--link", required=True, help="a name in strategies.links")
    link_check.add_argument(
        "--config", nargs="+", default=["config/config.yaml"], help="config files, layered in order"
    )
    link_check.add_argument("--out", required=True, help="JSON file to write")
    link_check.set_defaults(func=_cmd_link_check)
    strategy = commands.add_parser(
        "strategy", help="one cloud/edge/hybrid run across one emulated link (root)"
    )
    strategy.add_argument("--strategy", required=True, choices=["cloud", "edge", "hybrid"])
    strategy.add_argument("--link", required=True, help="a name in strategies.links")
    strategy.add_argument(
        "--config",
        nargs="+",
        default=["config/config.yaml"],
        help="config files, layered in order: its strategies section",
    )
    strategy.add_argument("--video", required=True, help="the video the camera replays")
    strategy.add_argument("--video-name", help="its name in the results (default: file stem)")
    strategy.add_argument("--resolution", required=True, help="its resolution's name")
    strategy.add_argument("--models-dir", default="resources/models")
    strategy.add_argument("--gallery", required=True, help="gallery .npz of the recognizer")
    strategy.add_argument("--alignment", choices=["crop", "similarity"], default="crop")
    strategy.add_argument(
        "--link-check", required=True, help="the link's JSON written by `facebench link-check`"
    )
    strategy.add_argument(
        "--out", required=True, help="directory for frames.csv, faces.csv, run.json"
    )
    strategy.set_defaults(func=_cmd_strategy)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if getattr(args, "command", None) == "run":
            if args.gallery is None and args.recognizer is None:
                raise FacebenchError("facebench run: give --gallery or --recognizer")
            args.recognizer = args.recognizer or _gallery_recognizer(args.gallery)
            args.gallery = args.gallery or f"resources/gallery/{args.recognizer}.npz"
        args.func(args)
    except FacebenchError as error:
        print(f"facebench: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
