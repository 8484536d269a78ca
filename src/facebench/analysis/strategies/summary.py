"""The cloud, edge and hybrid strategies compared on measured numbers, per link and input.

A run's measured (non-warm-up) frames give latency percentiles over the processed frames,
rates over the measured capture span, traffic, CPU, accuracy (each processed frame scored
against the ground truth of its ``clip_frame``: the clip loops) and cost from the config's
``strategies.prices``.
From these: a winner per link by a stated rule, and the paper's qualitative Table 2 in numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facebench.analysis.accuracy import CLIP_ACCURACY_COLUMNS, clip_accuracy, difference_half_width
from facebench.analysis.aggregate import resolution_order
from facebench.analysis.outputs import write_parquet, write_tables
from facebench.analysis.rundirs import typed
from facebench.analysis.strategies.figures import FIGURES
from facebench.analysis.strategies.reader import KEYS, read_strategy_runs
from facebench.errors import FacebenchError

STRATEGY_ORDER = ("cloud", "edge", "hybrid")
EDGE_BOARD_STRATEGIES = frozenset({"edge", "hybrid"})  # the camera itself is common to all
MONTH_S = 30 * 86400.0
BYTES_PER_GB = 1e9
ACCURACY_MARGIN = 0.02  # "within 2 points of the best"
LATENCY_TIE = 0.05  # p90 within 5 % of the lowest is a tie
RULE = (
    "among strategies whose identification accuracy is within 2 points of the best on the link "
    "or not distinguishable from that at 95 % (two-proportion normal interval on the matched "
    "faces; all of them when accuracy is not measured), the lowest p90 latency; p90 within 5 % "
    "of the lowest is a tie, broken by the lower uplink kbit/s"
)
LEAVES_SITE = {
    "cloud": "video frames (JPEG)",
    "edge": "metadata only (identities, boxes)",
    "hybrid": "face crops of new or expired tracks + metadata",
}
TABLE_METRICS = (
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "reply_latency_p50_ms",
    "captured_fps",
    "achieved_fps",
    "dropped_share",
    "lost_share",
    "up_kbit_s",
    "down_kbit_s",
    "bytes_up_per_frame",
    "bytes_down_per_frame",
    "edge_cpu_ms",
    "server_cpu_ms",
    "edge_cpu_share",
    "server_cpu_share",
    "identification_accuracy",
    "n_identified_faces",
    "precision",
    "recall",
    "link_rtt_ms_measured",
    "link_up_mbit_measured",
    "cost_per_1000_frames_usd",
    "cost_per_camera_month_usd",
    "compute_usd_per_camera_month",
    "link_usd_per_camera_month",
    "egress_usd_per_camera_month",
    "edge_board_usd_per_camera_month",
    "n_measured_frames",
    "n_processed_frames",
    "measured_span_s",
)
WINNER_COLUMNS = (
    "link",
    "video",
    "resolution",
    "winner",
    "why",
    "rule",
    "cheapest",
    "cheapest_cost_per_camera_month_usd",
    "cost_basis",
)
TABLE2_CRITERIA = (  # criterion, table column, unit, whether higher is better
    ("latency p50", "latency_p50_ms", "ms", False),
    ("latency p90", "latency_p90_ms", "ms", False),
    ("uplink", "up_kbit_s", "kbit/s", False),
    ("edge CPU per frame", "edge_cpu_ms", "ms", False),
    ("server CPU per frame", "server_cpu_ms", "ms", False),
    ("identification accuracy", "identification_accuracy", "fraction", True),
    ("achieved FPS", "achieved_fps", "frames/s", True),
    ("cost per camera-month", "cost_per_camera_month_usd", "USD", False),
)


@dataclass(frozen=True)
class Prices:
    """The user-editable prices of ``strategies.prices`` and each link's ``usd_per_gb``."""

    instance_per_hour_usd: float
    instance_vcpus: float
    egress_per_gb_usd: float
    edge_board_usd: float
    edge_life_months: float
    link_per_gb_usd: Mapping[str, float]
    basis: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Prices:
        """The prices of the workflow config's ``strategies`` section."""
        try:
            prices, links = config["prices"], config["links"]
            return cls(
                float(prices["cloud_instance_per_hour_usd"]),
                float(prices["cloud_instance_vcpus"]),
                float(prices["cloud_egress_per_gb_usd"]),
                float(prices["edge_board_usd"]),
                float(prices["edge_life_months"]),
                {name: float(link.get("usd_per_gb", 0)) for name, link in links.items()},
                f"computed from strategies.prices: {prices.get('cloud_instance', 'instance')} "
                f"{prices['cloud_instance_per_hour_usd']} USD/h for "
                f"{prices['cloud_instance_vcpus']} vCPUs, cloud egress "
                f"{prices['cloud_egress_per_gb_usd']} USD/GB, {prices.get('edge_board', 'board')} "
                f"{prices['edge_board_usd']} USD over {prices['edge_life_months']} months; "
                "link traffic at strategies.links usd_per_gb",
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise FacebenchError(f"config strategies: bad or missing price ({error})") from error


def _measured(frames: pd.DataFrame) -> pd.DataFrame:
    return frames[~frames["is_warmup"].astype(bool)]


def strategy_accuracy(
    frames: pd.DataFrame,
    faces: pd.DataFrame,
    truths: Mapping[tuple[str, str], pd.DataFrame],
    enrolled: frozenset[str] | set[str],
) -> pd.DataFrame:
    """Per run: ``run_accuracy``'s counts and rates over its processed measured frames, each
    scored against the ground truth (``truths[(video, resolution)]``) of its ``clip_frame``;
    ``n_dropped_frames`` counts the measured frames never sent (not scored)."""
    measured = _measured(frames)
    counts = (
        measured.assign(dropped=measured["status"] == "dropped")
        .groupby(list(KEYS))
        .agg(n_measured_frames=("frame", "size"), n_dropped_frames=("dropped", "sum"))
        .reset_index()
    )
    processed = measured[measured["status"] == "processed"]
    scores = clip_accuracy(processed, faces, truths, enrolled, KEYS)
    columns = [*counts.columns, *CLIP_ACCURACY_COLUMNS]
    return counts.merge(scores, on=list(KEYS), how="left")[columns]


def strategy_table(
    frames: pd.DataFrame,
    runs: pd.DataFrame,
    accuracy: pd.DataFrame,
    config: Mapping[str, Any],
) -> pd.DataFrame:
    """One row per strategy x link x video x resolution over the measured frames: latency
    percentiles of the processed frames (lost and dropped ones are in their shares), rates and
    traffic over the measured capture span, CPU, accuracy, the link as measured and the cost
    (``config``: the workflow config's ``strategies`` section)."""
    prices = Prices.from_config(config)
    measured = _measured(frames)
    processed = measured["status"] == "processed"
    data = measured.assign(
        processed=processed,
        dropped=measured["status"] == "dropped",
        lost=measured["status"] == "lost",
        latency_ms=measured["latency_s"].where(processed) * 1e3,
        reply_ms=measured["reply_latency_s"].where(processed) * 1e3,
    )
    grouped = data.groupby(list(KEYS))
    sums = grouped[["processed", "dropped", "lost", "bytes_up", "bytes_down"]].sum()
    cpu = grouped[["edge_cpu_s", "server_cpu_s"]]
    stats = pd.concat(
        [
            grouped["frame"].size().rename("n_measured_frames"),
            sums,
            grouped["t_capture_s"].agg(["min", "max"]),
            cpu.sum().add_suffix("_total"),
            cpu.mean().add_suffix("_mean"),
            *(
                grouped[column].quantile(q).rename(f"{name}_p{round(q * 100)}_ms")
                for column, name, levels in (
                    ("latency_ms", "latency", (0.5, 0.9, 0.99)),
                    ("reply_ms", "reply_latency", (0.5,)),
                )
                for q in levels
            ),
        ],
        axis=1,
    ).reset_index()
    stats = stats.merge(runs[[*KEYS, "fps", "link_rtt_ms_p50_measured", "link_up_mbit_measured"]])
    rates = accuracy[[*KEYS, "identification_accuracy", "precision", "recall", "tp"]]
    rates = rates.rename(columns={"tp": "n_identified_faces"})
    stats = stats.merge(rates, on=list(KEYS), how="left")
    return _derive(stats, prices)


def _derive(stats: pd.DataFrame, prices: Prices) -> pd.DataFrame:
    """The table's rates, shares and costs from per-run totals, in the canonical order."""
    span = stats["max"] - stats["min"] + 1 / stats["fps"]  # each frame stands for 1 / fps
    n, n_processed = stats["n_measured_frames"], stats["processed"]
    parts = _monthly_costs(stats, span, prices)
    month_usd = sum(parts.values())
    achieved_fps = n_processed / span
    table = stats.assign(
        **parts,
        captured_fps=n / span,
        achieved_fps=achieved_fps,
        dropped_share=stats["dropped"] / n,
        lost_share=stats["lost"] / n,
        up_kbit_s=stats["bytes_up"] * 8e-3 / span,
        down_kbit_s=stats["bytes_down"] * 8e-3 / span,
        bytes_up_per_frame=stats["bytes_up"] / n,
        bytes_down_per_frame=stats["bytes_down"] / n,
        edge_cpu_ms=stats["edge_cpu_s_mean"] * 1e3,
        server_cpu_ms=stats["server_cpu_s_mean"] * 1e3,
        edge_cpu_share=stats["edge_cpu_s_total"] / span,
        server_cpu_share=stats["server_cpu_s_total"] / span,
        link_rtt_ms_measured=stats["link_rtt_ms_p50_measured"],
        cost_per_camera_month_usd=month_usd,
        cost_per_1000_frames_usd=month_usd * 1000 / (achieved_fps * MONTH_S).where(n_processed > 0),
        n_processed_frames=n_processed,
        measured_span_s=span,
    )
    types = dict.fromkeys(KEYS, str) | dict.fromkeys(TABLE_METRICS, float)
    table = typed(table, types).assign(cost_basis=prices.basis)
    return _sorted(table, list(prices.link_per_gb_usd))


def _monthly_costs(stats: pd.DataFrame, span: pd.Series, prices: Prices) -> dict[str, pd.Series]:
    """The cost parts per camera-month: the measured window's cloud compute, link traffic and
    cloud egress scaled to a month of capture, and the edge board amortised (edge, hybrid)."""
    gb_up, gb_down = stats["bytes_up"] / BYTES_PER_GB, stats["bytes_down"] / BYTES_PER_GB
    usd_per_cpu_s = prices.instance_per_hour_usd / prices.instance_vcpus / 3600
    link_usd_per_gb = stats["link"].map(lambda link: _link_price(prices, link)).astype(float)
    windows_per_month = MONTH_S / span
    board = stats["strategy"].isin(EDGE_BOARD_STRATEGIES).astype(float)
    return {
        "compute_usd_per_camera_month": stats["server_cpu_s_total"]
        * usd_per_cpu_s
        * windows_per_month,
        "link_usd_per_camera_month": (gb_up + gb_down) * link_usd_per_gb * windows_per_month,
        "egress_usd_per_camera_month": gb_down * prices.egress_per_gb_usd * windows_per_month,
        "edge_board_usd_per_camera_month": board * prices.edge_board_usd / prices.edge_life_months,
    }


def _link_price(prices: Prices, link: str) -> float:
    if link not in prices.link_per_gb_usd:
        raise FacebenchError(f"config strategies.links: no link {link!r}, which a run used")
    return prices.link_per_gb_usd[link]


def _sorted(table: pd.DataFrame, links: list[str]) -> pd.DataFrame:
    """Rows by link (config order), video, resolution (smallest first) and strategy."""
    orders = {
        "link": links,
        "video": sorted(table["video"].unique()),
        "resolution": resolution_order(table["resolution"]),
        "strategy": strategy_order(table["strategy"]),
    }
    position = {c: table[c].map({v: i for i, v in enumerate(o)}) for c, o in orders.items()}
    return table.iloc[np.lexsort([position[c] for c in reversed(orders)])].reset_index(drop=True)


def strategy_order(strategies: Iterable[str]) -> list[str]:
    """cloud, edge, hybrid (those present), then any others alphabetically."""
    present = set(strategies)
    return [s for s in STRATEGY_ORDER if s in present] + sorted(present - set(STRATEGY_ORDER))


def winners(table: pd.DataFrame) -> pd.DataFrame:
    """Per link, video and resolution: the strategy that wins by :data:`RULE` and why, and the
    cheapest per camera-month."""
    rows = [
        _winner(group) for _, group in table.groupby(["link", "video", "resolution"], sort=False)
    ]
    result = pd.DataFrame(rows, columns=list(WINNER_COLUMNS))
    return result.astype(
        {c: str for c in WINNER_COLUMNS if c != "cheapest_cost_per_camera_month_usd"}
    )


def _winner(group: pd.DataFrame) -> dict:
    accuracy = group["identification_accuracy"]
    close = accuracy >= accuracy.max() - ACCURACY_MARGIN - _noise(group) - 1e-12  # inclusive
    eligible = group[close | accuracy.isna().all()].dropna(subset=["latency_p90_ms"])
    costs = group.set_index("strategy")["cost_per_camera_month_usd"].dropna()
    row = {
        **group.iloc[0][["link", "video", "resolution"]].to_dict(),
        "rule": RULE,
        "cheapest": costs.idxmin() if len(costs) else "",
        "cheapest_cost_per_camera_month_usd": costs.min(),
        "cost_basis": group["cost_basis"].iloc[0],
    }
    if eligible.empty:
        return row | {"winner": "", "why": "no strategy processed a measured frame"}
    fastest = eligible["latency_p90_ms"].min()
    tied = eligible[eligible["latency_p90_ms"] <= fastest * (1 + LATENCY_TIE)]
    best = tied.sort_values("up_kbit_s", kind="stable").iloc[0]
    why = [
        f"p90 {best['latency_p90_ms']:.0f} ms, accuracy {_percent(best['identification_accuracy'])}"
        f", uplink {best['up_kbit_s']:.0f} kbit/s"
    ]
    if excluded := sorted(set(group["strategy"]) - set(eligible["strategy"])):
        why.append(
            f"{', '.join(excluded)} out: accuracy below the best ({_percent(accuracy.max())}) "
            "by more than 2 points and its 95 % interval, or nothing processed"
        )
    if len(tied) > 1:
        why.append(
            f"p90 tied with {', '.join(sorted(set(tied['strategy']) - {best['strategy']}))}"
            "; lower uplink"
        )
    return row | {"winner": best["strategy"], "why": "; ".join(why)}


def _noise(group: pd.DataFrame) -> pd.Series:
    """Half-width (95 %) of each strategy's accuracy difference from the best one's: with a few
    dozen matched faces per run, sampling alone moves accuracy by more than 2 points."""
    accuracy, n = group["identification_accuracy"], group["n_identified_faces"]
    best = accuracy.idxmax() if accuracy.notna().any() else None
    if best is None:
        return pd.Series(0.0, index=group.index)
    return difference_half_width(accuracy, n, accuracy[best], n[best]).fillna(0.0)


def _percent(fraction: float) -> str:
    return "not measured" if np.isnan(fraction) else f"{fraction:.1%}"


def table2(table: pd.DataFrame, winners: pd.DataFrame) -> pd.DataFrame:
    """The paper's qualitative Table 2 in measured numbers: per link, video and resolution one
    row per criterion with each strategy's value and the best, then the winner by :data:`RULE`;
    plus the definition of what leaves the site (not a measurement)."""
    strategies = strategy_order(table["strategy"])
    rows = []
    for (link, video, resolution), group in table.groupby(
        ["link", "video", "resolution"], sort=False
    ):
        values = group.set_index("strategy")
        where = {"link": link, "video": video, "resolution": resolution}
        for criterion, column, unit, higher in TABLE2_CRITERIA:
            note = values["cost_basis"].iloc[0] if column.startswith("cost") else ""
            rows.append(
                where
                | {"criterion": criterion, "unit": unit, "kind": "measured"}
                | {s: _significant(values[column].get(s, np.nan)) for s in strategies}
                | {"best": _best(values[column], higher), "note": note}
            )
        chosen = winners[
            (winners["link"] == link)
            & (winners["video"] == video)
            & (winners["resolution"] == resolution)
        ]
        rows.append(
            where
            | {"criterion": "winner", "unit": "", "kind": "rule"}
            | dict.fromkeys(strategies, "")
            | {"best": chosen["winner"].iloc[0] if len(chosen) else "", "note": RULE}
        )
    if strategies:
        rows.append(
            {"link": "any", "video": "", "resolution": "", "criterion": "what leaves the site"}
            | {"unit": "", "kind": "definition"}
            | {s: LEAVES_SITE.get(s, "") for s in strategies}
            | {"best": "", "note": "by the strategy's design, not measured"}
        )
    columns = ["link", "video", "resolution", "criterion", "unit", "kind", *strategies]
    return pd.DataFrame(rows, columns=[*columns, "best", "note"])


def _best(values: pd.Series, higher: bool) -> str:
    """The strategies (index) with the best of ``values``, several on a tie; "" when none."""
    present = values.dropna()
    if present.empty:
        return ""
    top = present.max() if higher else present.min()
    return ", ".join(present.index[np.isclose(present, top)])


def _significant(value: float) -> float:
    """``value`` to 4 significant digits (NaN stays NaN)."""
    return float(f"{value:.4g}")


def write_strategy_outputs(
    run_dirs: Iterable[Path],
    truths: Mapping[tuple[str, str], pd.DataFrame],
    enrolled: frozenset[str] | set[str],
    config: Mapping[str, Any],
    out_dir: Path,
    figures_dir: Path,
    not_measured_reason: str | None,
) -> list[Path]:
    """frames, faces and runs parquet, summary, winners and table2 (CSV, and HTML for the
    report) in ``out_dir`` and the three figures (SVG) in ``figures_dir``, each written whole
    or not at all; with no runs, empty tables and figures saying ``not measured: <reason>``."""
    out_dir, figures_dir = Path(out_dir), Path(figures_dir)
    frames, faces, runs = read_strategy_runs(run_dirs)
    accuracy = strategy_accuracy(frames, faces, truths, enrolled)
    table = strategy_table(frames, runs, accuracy, config)
    best = winners(table)
    tables = {"summary": table, "winners": best, "table2": table2(table, best)}
    parquet = {"frames": frames, "faces": faces, "runs": runs}
    return [
        *(write_parquet(rows, out_dir / f"{name}.parquet") for name, rows in parquet.items()),
        *write_tables(tables, out_dir, "strategies"),
        *(
            draw(table, figures_dir / f"strategies_{name}.svg", not_measured_reason)
            for name, draw in FIGURES.items()
        ),
    ]
