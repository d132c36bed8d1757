"""Every label of the commune brief, in Vietnamese (first) and English.

Labels are constants; a few hold ``{pct}``-style fields that :func:`label` fills with
numbers formatted by :func:`number` — never with text from the data.
"""

from __future__ import annotations

import math
from typing import Any

LANGS = ("vi", "en")

LABELS: dict[str, tuple[str, str]] = {
    # key: (Vietnamese, English)
    "title": ("Tóm tắt hạ tầng số của xã", "Commune digital-infrastructure brief"),
    "synthetic": (
        "DỮ LIỆU MÔ PHỎNG — không phải vùng phủ thực tế",
        "SYNTHETIC DATA — not real coverage",
    ),
    "estimated": (
        "Số hộ là ước tính (phân bổ từ số liệu thống kê)",
        "Household figures are estimates (spread from census counts)",
    ),
    "synthetic_short": ("dữ liệu mô phỏng", "synthetic"),
    "estimated_short": ("ước tính", "estimated"),
    "code": ("Mã xã", "Commune code"),
    "district": ("Huyện", "District"),
    "province": ("Tỉnh", "Province"),
    "vintage": ("Kỳ số liệu", "Data vintage"),
    "households_vintage": ("Số hộ theo số liệu ngày", "Household counts as of"),
    "figures": ("Số liệu của xã", "The commune's figures"),
    "indicator": ("Chỉ tiêu", "Indicator"),
    "households_covered": ("Số hộ được phủ", "Households covered"),
    "share": ("Tỷ lệ hộ", "Share of households"),
    "households": ("Tổng số hộ", "Households"),
    "fibre": ("Cáp quang băng rộng", "Fibre broadband"),
    "mobile": ("Di động 4G/5G", "4G/5G mobile"),
    "mobile_5g": ("Di động 5G", "5G mobile"),
    "mobile_indoor": ("4G/5G trong nhà", "4G/5G indoors"),
    "operators": ("Theo doanh nghiệp viễn thông", "By operator"),
    "operator": ("Doanh nghiệp", "Operator"),
    "operator_fibre": ("Cáp quang: hộ (tỷ lệ)", "Fibre: households (share)"),
    "operator_mobile": ("4G/5G: hộ (tỷ lệ)", "4G/5G: households (share)"),
    "serving": (
        "Số doanh nghiệp 4G/5G phục vụ hộ",
        "4G/5G operators serving a household",
    ),
    "serving_n": ("Được {n} doanh nghiệp phục vụ", "Served by {n} operator(s)"),
    "serving_3plus": ("Được 3 doanh nghiệp trở lên", "Served by 3 or more operators"),
    "serving_all": ("Được mọi doanh nghiệp phục vụ", "Served by every operator"),
    "targets": (
        "Mục tiêu Nghị quyết và khoảng cách",
        "The Resolution's targets and the gap",
    ),
    "target": ("Mục tiêu", "Target"),
    "actual": ("Hiện trạng", "Now"),
    "status": ("Tình trạng", "Status"),
    "gap": ("Còn thiếu (hộ)", "Gap (households)"),
    "gap_communes": ("Còn thiếu (xã)", "Gap (communes)"),
    "met": ("Đạt", "Met"),
    "not_met": ("Chưa đạt", "Not met"),
    "no_households": ("Không có hộ", "No households"),
    "fibre_target": ("Cáp quang: ≥ {pct} % số hộ", "Fibre: ≥ {pct} % of households"),
    "mobile_rule": (
        "Xã có 4G/5G: ≥ {pct} % số hộ được phủ",
        "4G/5G commune rule: ≥ {pct} % of households",
    ),
    "mobile_target": (
        "Toàn tỉnh: {pct} % số xã có 4G/5G",
        "Province: {pct} % of communes with 4G/5G",
    ),
    "communes_unit": ("{n} xã", "{n} communes"),
    "communes_covered": ("{n} / {m} xã", "{n} / {m} communes"),
    "this_commune_counts": (
        "Xã này được tính là có 4G/5G",
        "This commune counts as covered",
    ),
    "this_commune_not": ("Xã này chưa được tính", "This commune does not count yet"),
    "gap_note": (
        "Khoảng cách = số hộ cần kết nối thêm để xã tự đạt mục tiêu.",
        "Gap = the households still to connect for the commune to meet the target itself.",
    ),
    "map": (
        "Bản đồ: ô H3 theo tỷ lệ hộ có cáp quang",
        "Map: H3 cells by fibre share of households",
    ),
    "legend": ("Tỷ lệ hộ có cáp quang", "Fibre share of households"),
    "no_data": ("không có hộ", "no households"),
    "north": ("B", "N"),
    "cells_count": ("{n} ô H3, độ phân giải {r}", "{n} H3 cells, resolution {r}"),
    "plan": (
        "Kế hoạch: cách rẻ nhất để đạt mục tiêu",
        "Plan: the cheapest way to the target",
    ),
    "plan_gap": ("Số hộ còn thiếu", "Households missing"),
    "plan_planned": ("Số hộ trong kế hoạch", "Households planned"),
    "plan_max": ("Mét kéo dài lớn nhất", "Longest extension (m)"),
    "plan_total": ("Tổng mét kéo dài", "Total extension (m)"),
    "plan_steps": ("Các bước theo ô H3", "Steps by H3 cell"),
    "plan_cell": ("Ô H3", "H3 cell"),
    "plan_households": ("Số hộ", "Households"),
    "plan_extension": ("Kéo dài (m)", "Extension (m)"),
    "plan_curve": (
        "Chi phí biên: số hộ được kết nối theo mét cáp kéo dài",
        "Marginal cost: households connected against metres of extension",
    ),
    "plan_curve_x": ("hộ được kết nối", "households connected"),
    "plan_curve_y": ("mét kéo dài", "metres of extension"),
    "plan_unreachable": (
        "Kể cả mọi hộ chưa có cáp quang cũng chưa đủ đạt mục tiêu.",
        "Even every household without fibre would not close the gap.",
    ),
    "plan_more": ("và {n} ô khác", "and {n} more cells"),
    "plan_none": (
        "Xã đã đạt mục tiêu: không cần kế hoạch.",
        "The commune meets the target: nothing to plan.",
    ),
    "trend": ("Xu hướng và dự báo", "Trend and projection"),
    "no_history": (
        "Chưa có số liệu các kỳ trước (không có kho lịch sử).",
        "No history: no earlier vintages are recorded.",
    ),
    "trend_status": ("Đánh giá đến hạn", "Status at the deadline"),
    "deadline_2025": ("Hạn cuối 2025", "By end of 2025"),
    "deadline_2030": ("Hạn cuối 2030", "By end of 2030"),
    "no_projection": (
        "Chỉ có một kỳ số liệu: chưa dự báo được.",
        "One vintage only: no projection yet.",
    ),
    "projected": ("Dự báo", "Projected"),
    "projection_suffix": ("(dự báo)", "(projected)"),
    "trend_fibre": ("Cáp quang (% hộ)", "Fibre (% of households)"),
    "trend_mobile": ("4G/5G (% hộ)", "4G/5G (% of households)"),
    "trend_target": ("Mục tiêu cáp quang ({pct} %)", "Fibre target ({pct} %)"),
    "trend_rule": ("Ngưỡng xã có 4G/5G ({pct} %)", "4G/5G commune rule ({pct} %)"),
    "status_met": ("Đã đạt", "Met"),
    "status_on_track": ("Đúng tiến độ", "On track"),
    "status_at_risk": ("Có nguy cơ chậm", "At risk"),
    "status_off_track": ("Chậm tiến độ", "Off track"),
    "method": ("Phương pháp và nguồn số liệu", "Methodology and sources"),
    "definitions": ("Định nghĩa", "Definitions"),
    "all_definitions": (
        "Mọi định nghĩa và ngưỡng của lần tính: /summary (summary.json, definitions).",
        "Every definition and threshold of the run: /summary (summary.json, definitions).",
    ),
    "thresholds": (
        "Các lớp phủ sóng, ngưỡng và tệp đầu vào (SHA-256 rút gọn)",
        "Coverage layers, thresholds and input files (SHA-256, short)",
    ),
    "file": ("Tệp", "File"),
    "layer": ("Lớp", "Layer"),
    "kind": ("Loại", "Kind"),
    "threshold": ("Ngưỡng", "Threshold"),
    "engine": ("Phiên bản geodx", "geodx version"),
    "results_version": ("Phiên bản kết quả", "Results version"),
    "generated": (
        "Trang này tạo từ kết quả đã tính, không tính lại.",
        "This page is built from the computed results; nothing is recomputed.",
    ),
}


def label(key: str, lang: str, **numbers: Any) -> str:
    """The label ``key`` in ``lang``, its fields filled with ``numbers`` (numbers only).

    >>> label("fibre_target", "en", pct=number(90.0, "en"))
    'Fibre: ≥ 90 % of households'
    """
    text = LABELS[key][LANGS.index(lang)]
    return text.format(**numbers) if numbers else text


def number(value: Any, lang: str, decimals: int = 0) -> str:
    """A number as officials read it: ``7.164`` / ``97,31`` (vi), ``7,164`` / ``97.31``.

    Whole values show no decimals; others ``decimals`` places (counts of estimated
    households are rounded to whole households). ``–`` for a missing value.

    >>> number(7164, "vi"), number(97.306, "vi", 2), number(97.306, "en", 2)
    ('7.164', '97,31', '97.31')
    >>> number(None, "en"), number(90.0, "vi", 2), number(1234.5, "en")
    ('–', '90', '1,234')
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if not math.isfinite(value):
        return "–"
    places = 0 if float(value).is_integer() else decimals
    text = f"{value:,.{places}f}"
    if lang == "vi":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def percent(value: Any, lang: str) -> str:
    """``97,31 %`` (vi), ``97.31 %`` (en); ``–`` when missing.

    >>> percent(97.306, "vi"), percent(None, "vi")
    ('97,31 %', '–')
    """
    text = number(value, lang, 2)
    return text if text == "–" else f"{text} %"
