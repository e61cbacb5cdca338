"""A model's quality figures as a few lines of text, for `latent-explorer info`.

One line per group of figures (reconstruction, denoising, label read-outs, spread of the
latents, shapes factors, maps); a group the model has no figure for is left out. The
figures themselves are the index's (docs/objectives.md says how each is computed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LABEL_WIDTH = 16


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _join(parts: list[str]) -> str:
    return " · ".join(part for part in parts if part)


def _figure(q: dict[str, Any], key: str, text: Callable[[float], str]) -> str:
    value = q.get(key)
    return text(float(value)) if isinstance(value, int | float) and _num(value) else ""


def _reconstruction(q: dict[str, Any]) -> str:
    return _join(
        [
            _figure(q, "reconstruction_mse", lambda v: f"MSE {v:.4f}"),
            _figure(q, "reconstruction_psnr", lambda v: f"PSNR {v:.1f} dB"),
        ]
    )


def _denoising(q: dict[str, Any]) -> str:
    d = q.get("denoising")
    if not isinstance(d, dict) or not _num(d.get("psnr")):
        return ""
    return f"{d['noise']}: {d['psnr']:.1f} dB (the corrupted input: {d['input_psnr']:.1f} dB)"


def _labels(q: dict[str, Any]) -> str:
    split = ""
    if _num(q.get("split_knn_accuracy")) or _num(q.get("probe_accuracy")):
        scores = _join(
            [
                _figure(q, "split_knn_accuracy", lambda v: f"kNN {_pct(v)}"),
                _figure(q, "probe_accuracy", lambda v: f"linear probe {_pct(v)}"),
            ]
        )
        split = f"{q.get('split')} ({q.get('split_n_test')} items): {scores}"
    every = _figure(q, "knn_accuracy", lambda v: f"kNN over all items, 5-fold CV {_pct(v)}")
    return _join([split, every])


def _spread(q: dict[str, Any]) -> str:
    return _join(
        [
            _figure(q, "alignment", lambda v: f"alignment {v:.3f}"),
            _figure(q, "uniformity", lambda v: f"uniformity {v:.2f}"),
            _figure(q, "latent_std_ratio", lambda v: f"std ratio {v:.3f}"),
        ]
    )


def _shapes(q: dict[str, Any]) -> str:
    r2 = q.get("shape_factor_r2")
    parts = [f"{k} {v:.2f}" for k, v in r2.items()] if isinstance(r2, dict) else []
    text = f"R² {' '.join(parts)}" if parts else ""
    return _join([text, _figure(q, "shape_accuracy", lambda v: f"shape accuracy {_pct(v)}")])


def _per_projection(q: dict[str, Any], key: str, name: str) -> str:
    per = q.get(key)
    if not isinstance(per, dict) or not per:
        return ""
    return f"{name} " + " ".join(f"{p} {v:.3f}" for p, v in per.items())


def _maps(q: dict[str, Any]) -> str:
    return _join(
        [
            _per_projection(q, "trustworthiness", "trustworthiness"),
            _per_projection(q, "faithfulness", "faithfulness"),
        ]
    )


GROUPS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("reconstruction", _reconstruction),
    ("denoising", _denoising),
    ("labels", _labels),
    ("latent spread", _spread),
    ("shapes factors", _shapes),
    ("maps", _maps),
)


def quality_lines(quality: dict[str, Any] | None) -> list[str]:
    """Indented ``group  figures`` lines; one line saying so when there is no index yet."""
    if not quality:
        return ["  (no index yet: `latent-explorer index` builds it)"]
    lines = []
    for label, describe in GROUPS:
        text = describe(quality)
        if text:
            lines.append(f"  {label:<{LABEL_WIDTH}}{text}")
    return lines
