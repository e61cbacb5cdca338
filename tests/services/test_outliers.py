"""list_outliers without HTTP: the worst reconstructed items, worst first."""

from __future__ import annotations

import numpy as np

from app.services.loaded import LoadedModel
from app.services.outliers import list_outliers


def test_the_outliers_are_the_largest_errors_in_order(m: LoadedModel) -> None:
    errors = m.index.errors
    assert errors is not None
    found = list_outliers(m, 5)
    expected = np.argsort(-errors, kind="stable")[:5]
    assert [o.id for o in found] == expected.tolist()
    assert found[0].percentile == 100.0
    assert [o.error for o in found] == sorted((o.error for o in found), reverse=True)
