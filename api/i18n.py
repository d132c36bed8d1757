"""Vietnamese for the JSON API: the definitions of ``/summary`` (``lang=vi``).

Units, codes, column names and formulas stay as they are; only the words change. A
definition key this table does not know keeps its English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geodx.contract_views import MARGIN_DB

LANGS = ("en", "vi")

# key -> Vietnamese text; {fibre}, {mobile_hh} and {margin} are the region's numbers.
DEFINITIONS_VI: dict[str, str] = {
    "household_commune": "xã có ranh giới chứa điểm hộ (tính cả đường biên), trong hệ "
    "toạ độ của tệp xã; nằm trong nhiều xã thì thuộc xã có commune_code nhỏ nhất và "
    "được đếm vào overlap_households",
    "fibre_covered": "nằm trong một vùng phục vụ cáp quang, hoặc cách một tuyến hay "
    "điểm cáp quang không quá service_distance_m mét (GEOS dwithin, đo bằng mét trong "
    "hệ toạ độ phẳng của lớp hoặc múi UTM của vùng)",
    "mobile_covered_household": "được ít nhất một lớp 4G hoặc 5G phủ sóng; lớp raster: "
    "điểm ảnh chứa hộ hợp lệ và >= min_rsrp_dbm",
    "mobile_5g_covered_household": "được ít nhất một lớp 5G phủ sóng",
    "commune_mobile_covered": "xã được tính là có 4G/5G khi mobile_pct >= {mobile_hh} "
    "(% số hộ của xã)",
    "fibre_gap_households": "số hộ còn thiếu: ceil(max(0, {fibre}% x households - "
    "fibre_households)), tính chính xác; bằng 0 khi và chỉ khi fibre_target_met",
    "mobile_gap_households": "số hộ còn thiếu: ceil(max(0, {mobile_hh}% x households - "
    "mobile_households)), tính chính xác; bằng 0 khi và chỉ khi mobile_covered",
    "mobile_commune_pct": "tỷ lệ xã có 4G/5G: communes_mobile_covered / "
    "communes_with_households x 100",
    "households": "số hộ thuộc một xã; unassigned_households là số hộ nằm ngoài mọi xã",
    "operator_households": "operator_<slug>_fibre_households / _mobile_households: số "
    "hộ được bất kỳ lớp cáp quang / 4G-5G nào của nhà mạng có slug <slug> phục vụ; null "
    "khi nhà mạng không có lớp loại đó; lớp không ghi nhà mạng không được tính",
    "mobile_operators_households": "mobile_operators_0/_1/_2/_3plus_households: số hộ "
    "được lớp 4G/5G của đúng chừng ấy nhà mạng khác nhau phủ sóng (lớp không ghi nhà "
    "mạng không được tính); tổng bằng households",
    "mobile_all_operators_households": "số hộ được lớp 4G/5G của mọi nhà mạng có lớp "
    "4G/5G phủ sóng; null khi không nhà mạng nào có",
    "mobile_indoor_households": "có sóng trong nhà (RSRP dự báo - indoor_loss_db >= "
    "min_rsrp_dbm) từ ít nhất một lớp có indoor_loss_db; null khi không lớp nào có; "
    "theo từng lớp: layer_<slug>_indoor_households",
    "mobile_households_minus3db": "số hộ có 4G/5G khi mọi giá trị điểm ảnh raster và "
    "dự báo từ trạm thấp hơn {margin} dB (giá trị - {margin} >= min_rsrp_dbm); lớp "
    "vùng, tuyến và điểm giữ nguyên",
    "mobile_households_plus3db": "như trên, với mọi giá trị cao hơn {margin} dB",
    "mobile_covered_sensitive": "theo xã: quy tắc commune_mobile_covered áp dụng cho "
    "mobile_households_minus3db hoặc mobile_households_plus3db cho kết quả khác "
    "mobile_covered; null khi xã không có hộ",
    "measured_households": "measured_<slug>_households: ô zoom-16 Web Mercator chứa hộ "
    "(quy tắc của mercantile) có tests >= min_tests và avg_d_kbps / 1000 >= "
    "min_download_mbps; _below_households: tests >= min_tests, chậm hơn; "
    "_too_few_tests_households: tests < min_tests hoặc không có ô; "
    "_untested_households: không có ô (một phần của không đủ lượt đo); đạt + chậm hơn + "
    "không đủ lượt đo = households. Lớp đo đạc không làm thay đổi số liệu cáp quang "
    "hay 4G/5G nào",
    "mobile_covered_measured_below_households": "được một lớp 4G/5G phủ sóng nhưng đo "
    "được chậm hơn tốc độ quy định (đủ lượt đo) ở ít nhất một lớp đo đạc",
}


def definitions_vi(
    definitions: Mapping[str, Any], targets: Mapping[str, float]
) -> dict[str, Any]:
    """``definitions`` with every known text in Vietnamese; numbers and lists as given.

    Examples
    --------
    >>> t = {"fibre_household_pct": 90.0, "mobile_commune_household_pct": 95.0}
    >>> definitions_vi({"commune_mobile_covered": "mobile_pct >= 95.0", "h3_resolution": 9}, t)
    {'commune_mobile_covered': 'xã được tính là có 4G/5G khi mobile_pct >= 95.0 (% số hộ của xã)', 'h3_resolution': 9}
    """  # noqa: E501 - a doctest line
    numbers = {
        "fibre": targets.get("fibre_household_pct"),
        "mobile_hh": targets.get("mobile_commune_household_pct"),
        "margin": f"{MARGIN_DB:g}",
    }
    out: dict[str, Any] = {}
    for key, value in definitions.items():
        text = DEFINITIONS_VI.get(key)
        out[key] = text.format(**numbers) if text and isinstance(value, str) else value
    return out
