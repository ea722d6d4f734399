"""Geometry arrays: a sequence of shapely geometries (``None`` allowed) as the 1-D object
array that Shapely's vectorised functions take."""

from __future__ import annotations

import numpy as np


def geometry_array(items) -> np.ndarray:
    """A 1-D ``object`` array of ``items``, whatever they are (``np.asarray`` alone would
    build a 2-D array of a list of equal-length sequences, such as WKB byte strings' lists).

    Examples
    --------
    >>> from shapely import Point
    >>> geometry_array([Point(0, 0), None]).shape
    (2,)
    >>> geometry_array([]).shape
    (0,)
    """
    return np.asarray(list(items) + [None], dtype=object)[:-1]
