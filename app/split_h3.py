"""H3 cells of many households, the library's cells computed once per distinct cell.

``latlng_to_cell`` is two steps in every H3 implementation (the C library, h3o,
which ``polars-h3`` runs): the point's *face address* (the icosahedron face whose
centre is nearest, and the hexagon of that face's plane that holds the point's
gnomonic projection: integer ``i, j`` coordinates at the resolution), then the cell
index of that address, a function of the address alone. Households crowd into few
cells (about one distinct cell in twenty households of a national batch), so
:func:`cells_of` finds each household's face address here, in numpy, and asks the
library (:func:`geodx.grid.points_to_cells`) for one household of each distinct
address; every household of that address gets its cell.

Exactness: numpy's trigonometry and this module's gnomonic formula (a projection onto
the face's tangent plane instead of the library's ``acos``, ``atan2``, ``tan``,
``cos`` and ``sin``) differ from the library's arithmetic by rounding alone; both
compute the same map. A household whose computed quantities lie within
:data:`MARGIN` of any decision the library makes (which face is nearest, each
comparison of the hexagon rounding, the truncations and the signs of its fold) is
left to the library whole, as are households near a face's centre, where the
library's ``acos(1 - d/2)`` loses digits. Every other household is so far from each
decision that rounding cannot move it across one (see :data:`MARGIN`), so its face
address is the library's and so is its cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geodx.grid import check_resolution, points_to_cells

#: H3's icosahedron face centres on the unit sphere (the library's table).
_CENTRES = np.array(
    [
        [0.2199307791404606, 0.6583691780274996, 0.7198475378926182],
        [-0.2139234834501421, 0.1478171829550703, 0.9656017935214205],
        [0.1092625278784797, -0.4811951572873210, 0.8697775121287253],
        [0.7428567301586791, -0.3593941678278028, 0.5648005936517033],
        [0.8112534709140969, 0.3448953237639384, 0.4721387736413930],
        [-0.1055498149613921, 0.9794457296411413, 0.1718874610009365],
        [-0.8075407579970092, 0.1533552485898818, 0.5695261994882688],
        [-0.2846148069787907, -0.8644080972654206, 0.4144792552473539],
        [0.7405621473854482, -0.6673299564565524, -0.0789837646326737],
        [0.8512303986474293, 0.4722343788582681, -0.2289137388687808],
        [-0.7405621473854481, 0.6673299564565524, 0.0789837646326737],
        [-0.8512303986474292, -0.4722343788582682, 0.2289137388687808],
        [0.1055498149613919, -0.9794457296411413, -0.1718874610009365],
        [0.8075407579970092, -0.1533552485898819, -0.5695261994882688],
        [0.2846148069787908, 0.8644080972654204, -0.4144792552473539],
        [-0.7428567301586791, 0.3593941678278027, -0.5648005936517033],
        [-0.8112534709140971, -0.3448953237639382, -0.4721387736413930],
        [-0.2199307791404607, -0.6583691780274996, -0.7198475378926182],
        [0.2139234834501420, -0.1478171829550704, -0.9656017935214205],
        [-0.1092625278784796, 0.4811951572873210, -0.8697775121287253],
    ]
)
#: Azimuth (radians) from each face's centre to its class II ``i`` axis.
_AXES_AZ = np.array(
    [
        5.619958268523939882, 5.760339081714187279, 0.780213654393430055,
        0.430469363979999913, 6.130269123335111400, 2.692877706530642877,
        2.982963003477243874, 3.532912002790141181, 3.494305004259568154,
        3.003214169499538391, 5.930472956509811562, 0.138378484090254847,
        0.448714947059150361, 0.158629650112549365, 5.891865957979238535,
        2.711123289609793325, 3.294508837434268316, 3.804819692245439833,
        3.664438879055192436, 2.361378999196363184,
    ]
)  # fmt: skip
_AP7_ROT_RADS = 0.333473172251832115336090755351601070065900389  # class III turn
_INV_RES0_U_GNOMONIC = 2.61803398874989588842
_SQRT7 = 2.6457513110645905905016157536392604257102
_RSIN60 = 1.1547005383792515290182975610039149112953

#: How far (in hexagon units of the resolution) every computed hexagon quantity must
#: be from each of the library's decisions. Both computations of a hexagon
#: coordinate err by rounding: ours and the library's by a few ulps (1e-16) of
#: ``|x| <= 2.2 * 7**(res / 2)`` and of its angle (up to 2 pi: 3.5e-15 radians times
#: ``|x|``), at most 2e-8 at resolution 15;
#: the library's ``r = acos(1 - d/2)`` besides by up to ``1.1e-16 / r`` radians (the
#: rounding of ``1 - d/2`` near 1), ``4.6e-16 * 7**(res / 2) / r`` hexagon units
#: (the gnomonic scale ``2.618 * 7**(res / 2)``, times 1.6 for ``1 + tan(r)**2``),
#: so households within ``r < 1e-8 * 7**(res / 2)`` radians of a face's centre are
#: left to the library (:func:`_near_centre`: 22 m at resolution 9, 139 km at 15);
#: beyond, that error is under 5e-8. A margin of 1e-6 is over twenty times every
#: bound.
MARGIN = 1e-6
#: The same for the nearest face: each dot product ``p . (c_f - c_g)`` with a
#: neighbour's centre errs by about 1e-15.
_FACE_MARGIN = 1e-12
#: Households a chunk: each temporary array (64 KiB) stays in the cache and below
#: glibc's mmap threshold, so no page is faulted in again for each one.
CHUNK = 1 << 13


def _near_centre(resolution: int) -> float:
    """``1 - cos(r)`` for ``r = 1e-8 * 7**(res / 2)`` radians (``r**2 / 2``).

    A household whose dot product with its face's centre exceeds ``1 -`` this is
    nearer the centre than ``r`` (see :data:`MARGIN`). At resolutions 0 and 1 the
    value is below an ulp of 1; there ``MARGIN`` on ``|x|`` and ``|y|`` already
    keeps households more than ``r`` from the centre.
    """
    return 5e-17 * 7.0**resolution


def _tangent_axes(resolution: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each face's hexagon ``x`` and ``y`` axes as unit vectors of its tangent plane.

    The library's ``theta`` of a point is the face's axis azimuth less the point's
    azimuth from the face centre (less the class III turn at odd resolutions), with
    ``north`` the unit tangent towards the pole and ``east = north x centre``; so
    ``cos(theta)`` and ``sin(theta)`` times the point's tangent-plane offset are its
    dot products with these axes.
    """
    pole = np.array([0.0, 0.0, 1.0])
    north = pole - _CENTRES[:, 2:3] * _CENTRES
    north /= np.linalg.norm(north, axis=1, keepdims=True)
    east = np.cross(north, _CENTRES)
    turn = _AXES_AZ - (_AP7_ROT_RADS if resolution % 2 else 0.0)
    cos_t, sin_t = np.cos(turn)[:, None], np.sin(turn)[:, None]
    return cos_t * north + sin_t * east, sin_t * north - cos_t * east


def _scale(resolution: int) -> float:
    """The library's gnomonic scale: ``1 / RES0_U_GNOMONIC`` times sqrt(7) a level."""
    scale = _INV_RES0_U_GNOMONIC
    for _ in range(resolution):
        scale *= _SQRT7
    return scale


def _edges() -> NDArray[np.float64]:
    """``c_f - c_g`` for each face ``f`` and its three edge neighbours ``g``.

    The faces' centres are a dodecahedron's corners: a face's three neighbours are
    41.8 degrees away, every other face 70.5 or more. The points nearer to ``c_f``
    than to any other centre are face ``f``'s spherical triangle, bounded by the
    three neighbours' bisectors alone; a point inside it by ``m`` from those three
    is inside every other face's bisector by about ``m`` too (those meet the
    triangle at its corners only).
    """
    near = np.argsort(-(_CENTRES @ _CENTRES.T), axis=1)[:, 1:4]
    edges: NDArray[np.float64] = _CENTRES[:, None, :] - _CENTRES[near]
    return edges


_EDGES = _edges()


def face_addresses(
    lat: NDArray[np.float64], lng: NDArray[np.float64], resolution: int
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Each point's face address as one integer, and whether it is certain.

    The address packs the face and the hexagon's ``i, j`` (before the library's
    normalisation, which is one to one). Where the second array is False the point
    is too near a decision (:data:`MARGIN`) and its address is not used.
    """
    axes = _tangent_axes(resolution)
    scale = _scale(resolution)
    near = 1.0 - _near_centre(resolution)
    keys = np.zeros(len(lat), dtype=np.int64)
    sure = np.zeros(len(lat), dtype=np.bool_)
    for start in range(0, len(lat), CHUNK):
        part = slice(start, start + CHUNK)
        keys[part], sure[part] = _addresses(lat[part], lng[part], axes, scale, near)
    return keys, sure


def _addresses(
    lat: NDArray[np.float64],
    lng: NDArray[np.float64],
    axes: tuple[NDArray[np.float64], NDArray[np.float64]],
    scale: float,
    near: float,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """One chunk's addresses, a face at a time.

    The face nearest the first point left, then every point left that is inside
    that face's triangle; the points outside it are left for the next face.
    """
    phi, lam = np.radians(lat), np.radians(lng)
    cos_phi = np.cos(phi)
    p = np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)])
    keys = np.zeros(len(lat), dtype=np.int64)
    sure = np.zeros(len(lat), dtype=np.bool_)
    left = np.arange(len(lat))
    while len(left):
        q = p if len(left) == len(lat) else p[:, left]
        face = int(np.argmax(_CENTRES @ q[:, 0]))
        inside = np.ones(len(left), dtype=np.bool_)
        outside = np.zeros(len(left), dtype=np.bool_)
        for edge in _EDGES[face]:
            gap = edge @ q
            inside &= gap > _FACE_MARGIN
            outside |= gap < -_FACE_MARGIN
        outside[0] = False  # nearest to this face: inside, or too near to tell
        # The gnomonic projection on the face's plane, in hexagon units: the
        # library's tan(r) (cos(theta), sin(theta)), r the angle from the centre.
        every = bool(inside.all())  # the usual chunk: no copies
        take = slice(None) if every else np.flatnonzero(inside)
        rows = left if every else left[take]
        q = q if every else q[:, take]
        along = _CENTRES[face] @ q
        unit = scale / along
        i, j, ok = _hexagon((axes[0][face] @ q) * unit, (axes[1][face] @ q) * unit)
        ok &= along < near
        key = (face << 58) | ((i + (1 << 28)) << 29) | (j + (1 << 28))
        if len(rows) == len(lat):
            keys, sure = key, ok
        else:
            keys[rows], sure[rows] = key, ok
        left = left[outside]
    return keys, sure


def _hexagon(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """The library's hexagon rounding (``_hex2dToCoordIJK``) of hexagon coordinates.

    Returns the hexagon's ``i, j`` (before normalisation, ``k = 0``) and whether
    every quantity the rounding compares is more than :data:`MARGIN` from the value
    it is compared with (the truncations of ``x1`` and ``x2``, each comparison of
    ``r1`` and ``r2``, the signs of ``x`` and ``y``).
    """
    a1, a2 = np.abs(x), np.abs(y)
    x2 = a2 * _RSIN60
    x1 = a1 + x2 / 2.0
    m1, m2 = np.floor(x1), np.floor(x2)
    r1, r2 = x1 - m1, x2 - m2
    third, half, two_thirds = r1 < 1.0 / 3.0, r1 < 0.5, r1 < 2.0 / 3.0
    b = half & ~third  # the four cases of r1, as the library's branches
    c = two_thirds & ~half
    d = ~two_thirds
    up = r2 >= 1.0 - r1
    di = (b & up & (r2 < 2.0 * r1)) | (c & (up | (r2 <= 2.0 * r1 - 1.0))) | d
    dj = (third & (r2 >= (1.0 + r1) / 2.0)) | ((b | c) & up) | (d & (r2 >= r1 / 2.0))
    i = m1.astype(np.int64) + di
    j = m2.astype(np.int64) + dj
    # The fold across the axes (j >= 0 here, so C's division is floor division):
    # for x < 0 the library's i - 2 * (i - (j + j % 2) // 2) - j % 2 is j - i, and
    # for y < 0 its i - (2 * j + 1) // 2 is i - j.
    i += (x < 0.0) * (j - 2 * i)
    down = y < 0.0
    i -= down * j
    j -= 2 * down * j
    t = MARGIN
    ok = (a1 > t) & (a2 > t)
    # r1 against 0, 1/3, 1/2, 2/3 and 1 (its distance from 1/2 against 0, 1/6, 1/2),
    # r2 against 0 and 1, then against each line it is compared with.
    d1 = np.abs(r1 - 0.5)
    ok &= (d1 > t) & (d1 < 0.5 - t) & (np.abs(d1 - 1.0 / 6.0) > t)
    ok &= np.abs(r2 - 0.5) < 0.5 - t
    for bound in ((1.0 + r1) / 2.0, 1.0 - r1, 2.0 * r1, 2.0 * r1 - 1.0, r1 / 2.0):
        ok &= np.abs(r2 - bound) > t
    return i, j, ok


def cells_of(
    lat: NDArray[np.float64], lng: NDArray[np.float64], *, resolution: int
) -> NDArray[np.uint64]:
    """Each point's H3 cell, the same as :func:`geodx.grid.points_to_cells`.

    The library computes one point of each distinct face address and every point
    near a decision; the others take their address's cell.

    Examples
    --------
    >>> import h3
    >>> lat, lng = np.array([12.6667, 12.6667, 10.5]), np.array([108.05, 108.05, 106.7])
    >>> got = cells_of(lat, lng, resolution=9)
    >>> [format(int(c), "x") for c in got] == [
    ...     h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lng)
    ... ]
    True
    """
    check_resolution(resolution)
    keys, sure = face_addresses(lat, lng, resolution)
    every = bool(sure.all())  # the usual batch: no copies
    where = np.arange(len(lat)) if every else np.flatnonzero(sure)
    codes, uniques = pd.factorize(keys if every else keys[where])
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = where[::-1]  # each address's first point
    known = points_to_cells(lat[first], lng[first], resolution=resolution)
    if every:
        cells: NDArray[np.uint64] = known[codes]
        return cells
    cells = np.empty(len(lat), dtype=np.uint64)
    cells[where] = known[codes]
    rest = np.flatnonzero(~sure)
    cells[rest] = points_to_cells(lat[rest], lng[rest], resolution=resolution)
    return cells


__all__ = ["CHUNK", "MARGIN", "cells_of", "face_addresses"]
