"""Bootstrap replicates of measured frames: paired frames, repeats drawn per run group."""

from __future__ import annotations

import numpy as np
import pandas as pd

from facebench.analysis.resampling import Resampling, intervals, replicates


def _frames(repeats: int = 3, n_frames: int = 40, seed: int = 0) -> pd.DataFrame:
    """Configuration b takes exactly twice a's time on every frame of every repeat; the time
    follows the frame (its faces), plus a per-repeat drift."""
    rng = np.random.default_rng(seed)
    per_frame = rng.uniform(0.05, 0.2, n_frames)
    rows = []
    for resolution in ("480", "HD"):
        for repeat in range(1, repeats + 1):
            drift = 1 + 0.05 * rng.standard_normal()
            for frame in range(n_frames):
                for detector, scale in (("a", 1.0), ("b", 2.0)):
                    rows.append(
                        {
                            "device": "local",
                            "detector": detector,
                            "recognizer": "onnx",
                            "video": "video1",
                            "resolution": resolution,
                            "repeat": repeat,
                            "frame": frame + 5,
                            "t": scale * per_frame[frame] * (drift if repeats > 1 else 1.0),
                        }
                    )
    return pd.DataFrame(rows)


def _mean_by_detector(frames: pd.DataFrame) -> pd.Series:
    return frames.groupby("detector")["t"].mean()


def test_every_configuration_gets_the_same_frames():
    frames = _frames(repeats=1)
    for replicate in replicates(frames, Resampling(replicates=20, seed=1)):
        means = _mean_by_detector(replicate)
        assert np.isclose(means["b"] / means["a"], 2.0)
        a = replicate[replicate["detector"] == "a"].groupby("resolution")["frame"].apply(sorted)
        b = replicate[replicate["detector"] == "b"].groupby("resolution")["frame"].apply(sorted)
        assert a.equals(b)


def test_a_replicate_keeps_each_groups_size_and_varies():
    frames = _frames()
    drawn = list(replicates(frames, Resampling(replicates=10, block_frames=4, seed=2)))
    sizes = frames.groupby(["detector", "resolution"]).size()
    for replicate in drawn:
        assert replicate.groupby(["detector", "resolution"]).size().equals(sizes)
    assert len({round(_mean_by_detector(r)["a"], 9) for r in drawn}) > 5


def test_repeats_are_drawn_per_group_so_the_interval_carries_their_spread():
    frames = _frames(repeats=3, seed=4)
    with_repeats = intervals(frames, _mean_by_detector, Resampling(replicates=300, seed=0))
    one_repeat = frames[frames["repeat"] == 1]
    without = intervals(one_repeat, _mean_by_detector, Resampling(replicates=300, seed=0))
    assert (with_repeats["lo"] <= with_repeats["value"]).all()
    assert (with_repeats["value"] <= with_repeats["hi"]).all()
    ratio = intervals(
        frames,
        lambda f: pd.Series({"b/a": _mean_by_detector(f).pipe(lambda m: m["b"] / m["a"])}),
        Resampling(replicates=100, seed=0),
    )
    # the drift of each group's repeats is drawn independently: the ratio is no longer exact
    assert ratio.loc["b/a", "hi"] - ratio.loc["b/a", "lo"] > 0
    assert without.loc["a", "hi"] > without.loc["a", "lo"]


def test_a_statistic_missing_in_most_replicates_has_no_interval():
    frames = _frames(repeats=1)
    bounds = Resampling(replicates=20).bounds(np.full((20, 2), np.nan))
    assert np.isnan(bounds[0]).all() and np.isnan(bounds[1]).all()
    assert list(replicates(frames.iloc[:0], Resampling())) == []
