"""Where the time goes, as a function of content: per configuration (device, detector,
recognizer), detection time as a linear function of the frame's pixels and MTCNN's proposals,
recognition time as a linear function of its faces, and the FPS these fits predict for each
input beside the FPS measured::

    t_detect_s = intercept + mpix * (width x height / 1e6) + n_rnet_in * (proposals into R-Net)
    t_embed_s  = intercept + n_faces * (faces detected in the frame)

Fitted by Huber's M-estimator (iteratively reweighted least squares, scale re-estimated each
step as the residuals' MAD), so a few stalled frames do not tilt the lines. The 95 % intervals
are percentiles over BOOTSTRAP resamples of the frames (fixed seed); consecutive frames show
nearly the same content, so they are narrower than run-to-run variation would give. A term
that was not measured (``n_rnet_in`` in runs recorded before MTCNN's counts were logged) is
left out of the fit and the note says ``not measured: ...``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from facebench.analysis.outputs import write_csv, write_html
from facebench.analysis.plotting import NOT_MEASURED, figure, legend_outside, not_measured
from facebench.analysis.tables import CONFIG, INPUT

HUBER_K = 1.345  # Huber's tuning constant: 95 % efficiency when the errors are normal
MAD_TO_SIGMA = 1.4826  # the MAD of normal errors times this is their standard deviation
MAX_ITERATIONS = 50
TOLERANCE = 1e-8  # relative change of the coefficients at which the reweighting stops
BOOTSTRAP = 200
SEED = 0
MAX_POINTS = 400  # frames drawn per panel (a fixed sample), to keep the SVG small
UNITS = {
    "intercept": "s",
    "mpix": "s per megapixel",
    "n_rnet_in": "s per proposal",
    "n_faces": "s per face",
}
# why a term can be absent from a frame
ABSENT = {
    "mpix": "its resolution has no size in videos.resolutions",
    "n_rnet_in": "MTCNN's proposals, not logged by older runs",
    "n_faces": "no face count",
}
NAME = "latency_model"
FPS_NAME = "latency_model_fps"


@dataclass(frozen=True)
class Model:
    """A phase's time (the frames column ``target``) as an intercept plus a slope per term."""

    phase: str
    target: str
    terms: tuple[str, ...]


MODELS = (
    Model("detect", "t_detect_s", ("mpix", "n_rnet_in")),
    Model("embed", "t_embed_s", ("n_faces",)),
)


@dataclass(frozen=True)
class Fit:
    """A model fitted on one configuration's frames: coefficients of the fitted terms
    (``intercept`` first) with 95 % intervals, R^2 and mean absolute error on the frames used,
    their number, and notes on what was left out."""

    model: Model
    estimate: dict[str, float]
    ci_lo: dict[str, float]
    ci_hi: dict[str, float]
    r2: float
    mae_s: float
    n_frames: int
    notes: tuple[str, ...]

    def predict(self, values: Mapping | pd.Series) -> np.ndarray | float:
        """The modelled time (s) at ``values`` (term -> number or array) of the fitted terms."""
        terms = [t for t in self.estimate if t != "intercept"]
        return self.estimate["intercept"] + sum(self.estimate[t] * values[t] for t in terms)


def content_frames(frames: pd.DataFrame, resolutions: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """``frames`` with ``mpix`` (width x height / 1e6 from ``resolutions``, name -> [w, h]; NaN
    for a resolution not there) and ``n_rnet_in`` (all NaN in an aggregate of older runs)."""
    mpix = {name: w * h / 1e6 for name, (w, h) in resolutions.items()}
    return frames.assign(
        mpix=frames["resolution"].astype(str).map(mpix).astype(float),
        n_rnet_in=frames.get("n_rnet_in", np.nan),
    )


def huber_fit(x: np.ndarray, y: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Coefficients of ``y ~ x`` (``x`` holds the intercept column) by Huber's M-estimator,
    reweighting from ``start`` (default: ordinary least squares)."""
    beta = np.linalg.lstsq(x, y, rcond=None)[0] if start is None else start
    for _ in range(MAX_ITERATIONS):
        residuals = y - x @ beta
        scale = MAD_TO_SIGMA * np.median(np.abs(residuals - np.median(residuals)))
        if scale == 0:
            break
        limit = HUBER_K * scale  # residuals beyond it weigh limit / |residual|
        root_w = np.sqrt(limit / np.maximum(np.abs(residuals), limit))
        new = np.linalg.lstsq(x * root_w[:, None], y * root_w, rcond=None)[0]
        done = np.abs(new - beta).max() <= TOLERANCE * np.abs(new).max()
        beta = new
        if done:
            break
    return beta


def bootstrap_intervals(
    x: np.ndarray, y: np.ndarray, beta: np.ndarray, seed: int = SEED
) -> np.ndarray:
    """(2, p): the 2.5th and 97.5th percentiles of the coefficients over BOOTSTRAP resamples
    of the rows, each fitted from ``beta``."""
    rng = np.random.default_rng(seed)
    draws = [huber_fit(x[i], y[i], beta) for i in rng.integers(0, len(y), (BOOTSTRAP, len(y)))]
    return np.percentile(draws, [2.5, 97.5], axis=0)


def _usable(frames: pd.DataFrame, model: Model) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The frames and terms ``model`` can be fitted on, and notes on what was left out: terms
    never measured, frames without a term's value, terms with one value only (or a multiple of
    the terms before them)."""
    rows, terms, notes = frames.dropna(subset=[model.target]), [], []
    for term in model.terms:
        present = rows[term].notna()
        if not present.any():
            notes.append(f"{NOT_MEASURED} {term} ({ABSENT[term]})")
            continue
        if not present.all():
            notes.append(
                f"{term} not measured on {(~present).sum()} of {len(rows)} frames "
                f"({ABSENT[term]}): fitted on the others"
            )
            rows = rows[present]
        design = np.column_stack([np.ones(len(rows)), rows[[*terms, term]]])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            notes.append(f"{term}: not fitted (one value only, or a multiple of the other terms)")
            continue
        terms.append(term)
    return rows, terms, notes


def fit_model(frames: pd.DataFrame, model: Model) -> Fit:
    """``model`` fitted on one configuration's ``frames`` (see :func:`content_frames`)."""
    rows, terms, notes = _usable(frames, model)
    names = ["intercept", *terms]
    if len(rows) <= len(names):
        nan = dict.fromkeys(names, np.nan)
        notes.append(f"not fitted: {len(rows)} frames for {len(names)} coefficients")
        return Fit(model, nan, nan, nan, np.nan, np.nan, len(rows), tuple(notes))
    x = np.column_stack([np.ones(len(rows)), rows[terms].to_numpy(float)])
    y = rows[model.target].to_numpy(float)
    beta = huber_fit(x, y)
    lo, hi = bootstrap_intervals(x, y, beta)
    residuals = y - x @ beta
    total = np.sum((y - y.mean()) ** 2)
    return Fit(
        model,
        dict(zip(names, beta, strict=True)),
        dict(zip(names, lo, strict=True)),
        dict(zip(names, hi, strict=True)),
        float(1 - np.sum(residuals**2) / total) if total else np.nan,
        float(np.abs(residuals).mean()),
        len(rows),
        tuple(notes),
    )


def fit_configurations(frames: pd.DataFrame) -> dict[tuple, list[Fit]]:
    """Every model of MODELS fitted per configuration (CONFIG) of ``frames``
    (:func:`content_frames`)."""
    return {
        key: [fit_model(group, model) for model in MODELS]
        for key, group in frames.groupby(CONFIG, observed=True)
    }


def coefficient_table(fits: dict[tuple, list[Fit]]) -> pd.DataFrame:
    """One row per configuration, phase and term: estimate with its 95 % interval (NaN for a
    term not fitted), the fit's R^2, MAE and frames, and its notes."""
    rows = [
        {
            **dict(zip(CONFIG, key, strict=True)),
            "phase": fit.model.phase,
            "term": term,
            "unit": UNITS[term],
            "estimate": fit.estimate.get(term, np.nan),
            "ci_lo": fit.ci_lo.get(term, np.nan),
            "ci_hi": fit.ci_hi.get(term, np.nan),
            "r2": fit.r2,
            "mae_s": fit.mae_s,
            "n_frames": fit.n_frames,
            "note": "; ".join(fit.notes),
        }
        for key, config_fits in fits.items()
        for fit in config_fits
        for term in ("intercept", *fit.model.terms)
    ]
    columns = [*CONFIG, "phase", "term", "unit", "estimate", "ci_lo", "ci_hi", "r2", "mae_s"]
    return pd.DataFrame(rows, columns=[*columns, "n_frames", "note"])


def _input_note(row: pd.Series, fits: list[Fit]) -> str:
    """Why an input's prediction is missing: a fitted term without a value on it."""
    absent = [t for fit in fits for t in fit.estimate if t != "intercept" and pd.isna(row[t])]
    return f"{NOT_MEASURED} {', '.join(absent)} on this input" if absent else ""


def prediction_table(frames: pd.DataFrame, fits: dict[tuple, list[Fit]]) -> pd.DataFrame:
    """Per configuration and input: the measured FPS (frames over summed frame times) beside
    the FPS the fits predict at the input's mean pixels, proposals and faces, with the other
    phases (read, align, identify, harness) as measured."""
    other = frames["t_total_s"] - frames["t_detect_s"] - frames["t_embed_s"]
    grouped = frames.assign(other_time_s=other).groupby([*CONFIG, *INPUT], observed=True)
    columns = ["mpix", "n_rnet_in", "n_faces", "t_detect_s", "t_embed_s", "other_time_s"]
    table = grouped[columns].mean().assign(n_frames=grouped.size())
    table["fps"] = table["n_frames"] / grouped["t_total_s"].sum()
    rows = []
    for index, row in table.iterrows():
        detect, embed = fits[index[: len(CONFIG)]]
        note = _input_note(row, [detect, embed])
        rows.append([*row, detect.predict(row), embed.predict(row), note])
    predicted = ["predicted_t_detect_s", "predicted_t_embed_s", "note"]
    out = pd.DataFrame(rows, table.index, [*table.columns, *predicted]).reset_index()
    predicted_s = out["predicted_t_detect_s"] + out["predicted_t_embed_s"] + out["other_time_s"]
    out["predicted_fps"] = 1 / predicted_s
    out["fps_error"] = out["predicted_fps"] / out["fps"] - 1
    order = [*CONFIG, *INPUT, "n_frames", *columns[:3], "t_detect_s", "predicted_t_detect_s"]
    order += ["t_embed_s", "predicted_t_embed_s", "other_time_s", "fps", "predicted_fps"]
    return out[[*order, "fps_error", "note"]]


def _sample(rows: pd.DataFrame, count: int = MAX_POINTS) -> pd.DataFrame:
    """At most ``count`` of ``rows``, a fixed sample."""
    return rows.sample(min(len(rows), count), random_state=SEED)


def _line(ax: Axes, xs: np.ndarray, values: Mapping, fit: Fit, **style) -> None:
    """The fit's time (ms) at ``values`` drawn over ``xs``."""
    ax.plot(xs, 1e3 * np.broadcast_to(fit.predict(values), xs.shape), **style)


def _annotate(ax: Axes, key: tuple, fit: Fit, what: str) -> None:
    """Title: configuration, phase and R^2; the fit's notes written at the panel's top."""
    config = dict(zip(CONFIG, key, strict=True))
    ax.set_title(
        f"{config['device']} · {config['detector']}/{config['recognizer']}: {what}, R² {fit.r2:.2f}"
    )
    if fit.notes:
        text = textwrap.fill("; ".join(fit.notes), 70)
        ax.text(0.02, 0.98, text, transform=ax.transAxes, va="top", fontsize="x-small")


def _detect_panel(ax: Axes, rows: pd.DataFrame, fit: Fit) -> None:
    """Detection time against proposals, a colour and a fitted line per resolution; against
    megapixels (one line) where proposals were not fitted."""
    x_term = "n_rnet_in" if "n_rnet_in" in fit.estimate else "mpix"
    groups = list(rows.groupby("resolution", observed=True))
    for i, (resolution, part) in enumerate(groups):
        shown = _sample(part.dropna(subset=[x_term]), MAX_POINTS // len(groups))
        ax.scatter(
            shown[x_term],
            1e3 * shown["t_detect_s"],
            s=6,
            alpha=0.4,
            color=f"C{i}",
            linewidths=0,
            label=str(resolution),
        )
        if x_term == "n_rnet_in":
            xs = np.linspace(part[x_term].min(), part[x_term].max(), 2)
            _line(ax, xs, {"mpix": part["mpix"].iloc[0], "n_rnet_in": xs}, fit, color=f"C{i}")
    if x_term == "mpix":
        xs = np.linspace(rows["mpix"].min(), rows["mpix"].max(), 2)
        _line(ax, xs, {"mpix": xs}, fit, color="k", lw=1)
    xlabel = "proposals into R-Net" if x_term == "n_rnet_in" else "megapixels per frame"
    ax.set(xlabel=xlabel, ylabel="detection time (ms)")
    ax.legend(title="resolution", markerscale=2)
    legend_outside(ax)


def _embed_panel(ax: Axes, rows: pd.DataFrame, fit: Fit) -> None:
    """Recognition time against faces (jittered sideways), the fitted line over them."""
    shown = _sample(rows)
    jitter = np.random.default_rng(SEED).uniform(-0.2, 0.2, len(shown))
    ax.scatter(shown["n_faces"] + jitter, 1e3 * shown["t_embed_s"], s=6, alpha=0.4, linewidths=0)
    xs = np.array([0.0, max(float(rows["n_faces"].max()), 1.0)])
    _line(ax, xs, {"n_faces": xs}, fit, color="k", lw=1)
    ax.set(xlabel="faces in the frame", ylabel="recognition time (ms)")


def latency_model_figure(frames: pd.DataFrame, fits: dict[tuple, list[Fit]], out: Path) -> Path:
    """One row per configuration: detection time against proposals (or pixels) and
    recognition time against faces, frames (a fixed sample) and the fitted lines."""
    if not fits:
        with figure(out) as (ax,):
            not_measured(ax, {"latency model": "no measured frames"})
        return Path(out)
    groups = dict(iter(frames.groupby(CONFIG, observed=True)))
    with figure(out, 2, (5.5, 3.6), len(fits)) as axes:
        for (key, (detect, embed)), left, right in zip(
            fits.items(), axes[::2], axes[1::2], strict=True
        ):
            _detect_panel(left, groups[key], detect)
            _annotate(left, key, detect, "detection")
            _embed_panel(right, groups[key], embed)
            _annotate(right, key, embed, "recognition")
    return Path(out)


def write_latency_model(
    frames: pd.DataFrame, resolutions: Mapping[str, Sequence[int]], out_dir: Path
) -> list[Path]:
    """The coefficient and FPS tables (CSV and HTML) and the figure (SVG) of ``frames``
    (measured frames, ``resolutions``: name -> [w, h]) into ``out_dir``."""
    data = content_frames(frames, resolutions)
    fits = fit_configurations(data)
    out_dir = Path(out_dir)
    written = []
    for name, table, title in (
        (NAME, coefficient_table(fits), "latency model: coefficients"),
        (FPS_NAME, prediction_table(data, fits), "latency model: predicted vs measured FPS"),
    ):
        written += [
            write_csv(table, out_dir / f"{name}.csv"),
            write_html(table, out_dir / f"{name}.html", title),
        ]
    return [*written, latency_model_figure(data, fits, out_dir / f"{NAME}.svg")]
