"""One address column → province / city / district (cpca), for sheets without separate region columns."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

_MUNICIPALITY_CITY = "市辖区"  # cpca's placeholder city of 北京 / 上海 / 天津 / 重庆


def split_addresses(rows: Sequence[MutableMapping[str, Any]]) -> None:
    """Fill province / city / district of rows that only carry an address; the address keeps the rest.

    cpca reads a leading place name generously (北京路1号 → 北京市 + 路1号), so a result with only a
    province is kept only when the address spells the province out (北京市…, 广东省…).
    """
    todo = [r for r in rows if r.get("address") and not (r.get("province") or r.get("city") or r.get("district"))]
    if not todo:
        return
    import cpca  # loads its region tables on first use (~1 s): only when a sheet needs it

    frame = cpca.transform([str(r["address"]) for r in todo])
    for row, (province, city, district, rest) in zip(
        todo, frame[["省", "市", "区", "地址"]].itertuples(index=False, name=None), strict=True
    ):
        if not province:
            continue
        if city == _MUNICIPALITY_CITY:
            city = province
        if not city and not district and province not in str(row["address"]):
            continue
        row["province"], row["city"], row["district"] = province, city or None, district or None
        if rest:
            row["address"] = rest
