"""The paper's claims as data (``resources/paper/claims.yaml``): its numbers, read and checked
against a schema, and each claim's prose built from the same numbers."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from facebench.errors import FacebenchError
from facebench.schemas import validate_document

PAPER_DIR = Path(__file__).resolve().parents[3] / "resources" / "paper"
CLAIMS_YAML = PAPER_DIR / "claims.yaml"


@dataclass(frozen=True)
class Range:
    """The paper's [lo, hi] for one quantity (lo == hi for a single figure)."""

    lo: float
    hi: float


@dataclass(frozen=True)
class ClaimNumbers:
    """One claim: where in the paper, its numbers (numbers, ranges, nested mappings of them)
    and its text and the paper's figures, both filled in from the numbers; the unit of the last
    digit each number was reported to (``precision``, shaped like ``values`` or coarser), the
    numbers that bound from above only (``one_sided``) and the detector/recognizer pairs it
    names (``pairs``)."""

    number: int
    source: str
    values: dict[str, Any]
    text: str
    paper: str
    precision: dict[str, Any] = field(default_factory=dict)
    one_sided: tuple[str, ...] = ()
    pairs: dict[str, dict[str, Any]] = field(default_factory=dict)
    circular_in_table6: str = ""  # why Table 6 cannot calibrate the claim ("" where it can)


@dataclass(frozen=True)
class PaperClaims:
    """Everything of ``claims.yaml``: the equivalence margin of the magnitude verdicts, the OS
    pair of claim 9 and the claims."""

    path: Path
    equivalence_margin: float
    old_os: str
    new_os: str
    os_pair_devices: tuple[str, str]
    claims: dict[int, ClaimNumbers]

    def values(self, number: int) -> dict[str, Any]:
        """The numbers of claim ``number``, ranges as :class:`Range`."""
        if number not in self.claims:
            raise FacebenchError(f"{self.path}: no claim {number}")
        return self.claims[number].values

    def precision(self, number: int, name: str, *keys: str) -> float:
        """The unit of the last digit the paper gave value ``name`` (at ``keys`` within it) to:
        the deepest number on that path of the claim's ``precision``."""
        found: Any = self.claims[number].precision if number in self.claims else {}
        for key in (name, *keys):
            if not isinstance(found, dict):
                break
            found = found.get(key)
        if not isinstance(found, int | float):
            path = "/".join((name, *keys))
            raise FacebenchError(f"{self.path}: claim {number}: no precision for {path}")
        return float(found)


class _Formatter(string.Formatter):
    """``str.format`` plus the specs ``%`` (x100), ``x%`` (growth of a ratio in percent),
    ``major`` (a version's first part), each with an optional leading ``+``; numbers as
    ``g`` with 6 significant digits."""

    def format_field(self, value: Any, format_spec: str) -> str:
        sign = "+" if format_spec.startswith("+") else ""
        spec = format_spec.removeprefix("+")
        if spec == "major":
            return str(value).split(".")[0]
        if spec in ("g", "%", "x%"):
            number = {"g": value, "%": 100 * value, "x%": 100 * (value - 1)}[spec]
            return format(number, f"{sign}.6g")
        return super().format_field(value, format_spec)


def _ranges(value: Any) -> Any:
    """``[lo, hi]`` lists as :class:`Range`, recursively through mappings."""
    if isinstance(value, list):
        return Range(float(value[0]), float(value[1]))
    if isinstance(value, dict):
        return {key: _ranges(item) for key, item in value.items()}
    return float(value)


def read_paper_claims(path: Path = CLAIMS_YAML) -> PaperClaims:
    """``claims.yaml`` read, checked against its schema and with every template filled in;
    any problem is one line naming the file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FacebenchError(f"{path}: not a readable YAML file ({reason})") from error
    if isinstance(document, dict) and isinstance(document.get("claims"), dict):
        document["claims"] = {str(k): v for k, v in document["claims"].items()}
    validate_document(document, "paper_claims", str(path))
    pair = document["os_pair"]
    names = {"old_os": pair["old_os"], "new_os": pair["new_os"]}
    claims = {}
    for key, claim in document["claims"].items():
        values = {name: _ranges(value) for name, value in claim["values"].items()}
        pairs = claim.get("pairs", {})
        fields = {**names, **values, **pairs}
        try:
            text = _Formatter().format(claim["text"], **fields)
            paper = _Formatter().format(claim["paper"], **fields)
        except (KeyError, IndexError, AttributeError, ValueError, TypeError) as error:
            raise FacebenchError(
                f"{path}: claim {key}: a template does not fit its values ({error!r})"
            ) from error
        unknown = sorted(set(claim.get("one_sided", [])) - set(values))
        if unknown:
            raise FacebenchError(f"{path}: claim {key}: one_sided names no value: {unknown[0]}")
        claims[int(key)] = ClaimNumbers(
            int(key),
            claim["source"],
            values,
            text,
            paper,
            claim["precision"],
            tuple(claim.get("one_sided", [])),
            pairs,
            claim.get("circular_in_table6", ""),
        )
    return PaperClaims(
        path,
        float(document["equivalence_margin"]),
        pair["old_os"],
        pair["new_os"],
        tuple(pair["devices"]),
        claims,
    )
