"""Quantities several claims share: one framework's mean over another's per device, matched so
a ratio compares one factor at a time, and the comparison our frameworks allow when a claim's
own is missing."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from facebench.analysis.claims.engine import Data
from facebench.analysis.claims.intervals import Bounds, HalfUnits, grouped_means

OTHER_ROLE = {"detector": "recognizer", "recognizer": "detector"}


def matched_rows(
    table: pd.DataFrame, role: str, num: str, den: str, match: list[str]
) -> pd.DataFrame:
    """The rows of ``table`` with ``role`` ``num`` or ``den`` whose device and ``match`` values
    occur with both: a detector ratio over the same recognizers, and so on."""
    rows = table[table[role].astype(str).isin([num, den])]
    keys = ["device", *match]
    both = rows.astype({k: str for k in [*keys, role]}).groupby(keys)[role].transform("nunique")
    return rows[both.to_numpy() == 2]


def framework_ratio(
    table: pd.DataFrame,
    role: str,
    column: str,
    num: str,
    den: str,
    half: HalfUnits,
    match: list[str] | None = None,
) -> Bounds:
    """Per device: mean ``column`` over rows with ``role == num`` over that with ``role == den``,
    over the same values of ``match`` (default: the other role of a detector or recognizer)."""
    match = [OTHER_ROLE[role]] if match is None and role in OTHER_ROLE else match or []
    rows = matched_rows(table, role, num, den, match)
    means = grouped_means(rows.astype({role: str}), ["device", role], column, half).unstack(role)
    if num not in means.value or den not in means.value:
        return Bounds.empty()
    return (means[num] / means[den]).dropna().text_labels()


@dataclass(frozen=True)
class OthersAgainst:
    """Context for an untestable claim: each other framework's mean ``column`` over that of
    ``reference`` (by ``role``) per device of our Table 6, matched like a claim's ratio, ``skip``
    left out."""

    role: str
    column: str
    reference: str
    skip: str

    def __call__(self, data: Data) -> str:
        frameworks = data.table6[self.role].astype(str).unique()
        texts = [
            f"{device} {framework} {ratio:.2f}x"
            for framework in sorted(frameworks)
            if framework not in (self.reference, self.skip)
            for device, ratio in framework_ratio(
                data.table6, self.role, self.column, framework, self.reference, {}
            ).value.items()
        ]
        if not texts:
            return ""
        return f"{self.column} {self.role} vs {self.reference} (matched): " + ", ".join(texts)
