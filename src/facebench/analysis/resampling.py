"""Bootstrap replicates of the measured frames: an interval for any statistic computed from them
(a Table 6 cell, a claim's ratio) that carries both the spread between repeats and that between
frames.

A replicate draws, per input (video x resolution), blocks of consecutive measured frames with
replacement (circular moving blocks: a frame's time follows its faces, which change slowly) and
gives every configuration of every device the same draw, so a ratio of two configurations
still compares the same frames; and, per run group (device, configuration, input), its repeats
with replacement, independently. A frame row's weight is how often its frame was drawn times how
often its repeat was.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

INPUT_KEYS = ["video", "resolution"]
GROUP_KEYS = ["device", "detector", "recognizer", *INPUT_KEYS]


@dataclass(frozen=True)
class Resampling:
    """How intervals are drawn (the config's ``statistics``)."""

    replicates: int = 400
    confidence: float = 0.95
    block_frames: int = 5
    seed: int = 0

    @classmethod
    def of(cls, settings: dict[str, Any]) -> Resampling:
        """From the config's ``statistics`` section."""
        return cls(
            int(settings["bootstrap_replicates"]),
            float(settings["confidence"]),
            int(settings["block_frames"]),
            int(settings["seed"]),
        )

    def bounds(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The percentile interval of ``samples`` (replicates along axis 0), NaN where fewer
        than half the replicates gave a number."""
        tail = 50 * (1 - self.confidence)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a label with no number at all
            lo, hi = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
        enough = np.isfinite(samples).sum(axis=0) * 2 >= len(samples)
        return np.where(enough, lo, np.nan), np.where(enough, hi, np.nan)


@dataclass(frozen=True)
class _Codes:
    """Each frame row's place: its input and frame position there, its run group and repeat
    position there; the sizes to draw from."""

    input_of_row: np.ndarray
    frame_of_row: np.ndarray  # offset of the row's input + its frame's position in the input
    frames_per_input: np.ndarray
    group_of_row: np.ndarray
    repeat_of_row: np.ndarray  # offset of the row's group + its repeat's position in the group
    repeats_per_group: np.ndarray

    @classmethod
    def of(cls, frames: pd.DataFrame) -> _Codes:
        inputs = frames.groupby(INPUT_KEYS, observed=True, sort=True).ngroup().to_numpy()
        frame_pos, frames_per_input = _positions(inputs, frames["frame"].to_numpy())
        groups = frames.groupby(GROUP_KEYS, observed=True, sort=True).ngroup().to_numpy()
        repeat_pos, repeats_per_group = _positions(groups, frames["repeat"].to_numpy())
        return cls(inputs, frame_pos, frames_per_input, groups, repeat_pos, repeats_per_group)


def _positions(group: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the offset of its group plus the rank of its value among the group's distinct
    values; the number of distinct values per group."""
    pairs = pd.DataFrame({"group": group, "value": value})
    distinct = pairs.drop_duplicates().sort_values(["group", "value"])
    sizes = distinct.groupby("group").size().to_numpy()
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = distinct.groupby("group").cumcount().to_numpy() + offsets[distinct["group"]]
    lookup = pd.Series(rank, index=pd.MultiIndex.from_frame(distinct))
    return lookup.reindex(pd.MultiIndex.from_frame(pairs)).to_numpy(), sizes


def _block_counts(rng: np.random.Generator, n: int, block: int) -> np.ndarray:
    """How often each of ``n`` positions is drawn by circular blocks of ``block`` until ``n``."""
    block = max(1, min(block, n))
    starts = rng.integers(0, n, -(-n // block))
    drawn = ((starts[:, None] + np.arange(block)) % n).ravel()[:n]
    return np.bincount(drawn, minlength=n)


def _weights(codes: _Codes, rng: np.random.Generator, block: int) -> np.ndarray:
    frame_counts = np.concatenate(
        [_block_counts(rng, int(n), block) for n in codes.frames_per_input]
    )
    repeat_counts = np.concatenate(
        [np.bincount(rng.integers(0, n, n), minlength=n) for n in codes.repeats_per_group]
    )
    return frame_counts[codes.frame_of_row] * repeat_counts[codes.repeat_of_row]


def replicates(frames: pd.DataFrame, resampling: Resampling) -> Iterator[pd.DataFrame]:
    """``resampling.replicates`` bootstrap copies of ``frames`` (measured frames with
    :data:`GROUP_KEYS`, ``frame`` and ``repeat``): rows repeated by their weight."""
    if frames.empty:
        return
    codes = _Codes.of(frames)
    rng = np.random.default_rng(resampling.seed)
    rows = np.arange(len(frames))
    for _ in range(resampling.replicates):
        yield frames.iloc[np.repeat(rows, _weights(codes, rng, resampling.block_frames))]


def intervals(
    frames: pd.DataFrame, statistic: Callable[[pd.DataFrame], pd.Series], resampling: Resampling
) -> pd.DataFrame:
    """``statistic`` (frames -> numbers by label) on ``frames`` with its bootstrap interval:
    columns ``value``, ``lo``, ``hi`` by label."""
    value = statistic(frames)
    samples = np.array(
        [statistic(r).reindex(value.index).to_numpy(float) for r in replicates(frames, resampling)]
    ).reshape(-1, len(value))
    lo, hi = resampling.bounds(samples)
    return pd.DataFrame({"value": value, "lo": lo, "hi": hi}, index=value.index)
