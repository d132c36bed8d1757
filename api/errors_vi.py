"""Vietnamese error messages (``lang=vi``): every message of the API's error table.

A message is matched whole against :data:`MESSAGES` and rebuilt from its parts (codes,
numbers and names as given); one no pattern knows gets the Vietnamese name of its
status in front. Validation errors are written from pydantic's error type and context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

STATUS_VI = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa xác thực",
    403: "Không được phép",
    404: "Không tìm thấy",
    405: "Phương thức không được phép",
    406: "Không có định dạng phù hợp",
    409: "Xung đột",
    413: "Nội dung quá lớn",
    415: "Kiểu nội dung không được hỗ trợ",
    422: "Tham số không hợp lệ",
    429: "Quá nhiều yêu cầu",
    500: "Lỗi máy chủ",
    503: "Dịch vụ chưa sẵn sàng",
}
WORDS_VI = {  # words inside messages: kinds of values and of things counted
    "number": "số",
    "integer": "số nguyên",
    "boolean": "giá trị true/false",
    "string": "chuỗi",
    "features": "đối tượng",
    "vertices": "đỉnh",
    "layers": "lớp",
}
_MESSAGES: list[tuple[str, str]] = [
    (r"no commune with code '(?P<code>.*)'", "không có xã nào có mã '{code}'"),
    (
        r"no district with code '(?P<code>.*)'; see /collections/districts",
        "không có huyện nào có mã '{code}'; xem /collections/districts",
    ),
    (
        r"district_code: this region's communes have no district .*",
        "district_code: các xã của vùng này không thuộc huyện nào (từ tháng 7/2025 "
        "xã trực thuộc tỉnh); hãy bỏ bộ lọc này",
    ),
    (
        r"no collection '(?P<id>.*)'; see /collections",
        "không có tập dữ liệu '{id}'; xem /collections",
    ),
    (
        r"no feature '(?P<fid>.*)' in collection '(?P<cid>.*)'",
        "không có đối tượng '{fid}' trong tập dữ liệu '{cid}'",
    ),
    (
        r"filter (?P<name>[^=]*)=(?P<raw>.*) is not a valid (?P<kind>\w+)",
        "bộ lọc {name}={raw} không phải là {kind} hợp lệ",
    ),
    (
        r"unknown query parameter or property '(?P<name>.*)'",
        "không có tham số truy vấn hay thuộc tính nào tên '{name}'",
    ),
    (
        r"bbox has (?P<n>\d+) values; expected 4 \(west,south,east,north\)",
        "bbox có {n} giá trị; cần 4 (tây,nam,đông,bắc)",
    ),
    (r"bbox values must be numbers", "các giá trị của bbox phải là số"),
    (r"bbox values must be finite numbers", "các giá trị của bbox phải là số hữu hạn"),
    (
        r"bbox longitudes must be within -180\.\.180",
        "kinh độ của bbox phải nằm trong khoảng -180..180",
    ),
    (
        r"bbox latitudes must be within -90\.\.90",
        "vĩ độ của bbox phải nằm trong khoảng -90..90",
    ),
    (r"bbox south is greater than north", "trong bbox, vĩ độ nam lớn hơn vĩ độ bắc"),
    (
        r"bbox-crs: only CRS84 \(lon/lat\) is supported",
        "bbox-crs: chỉ hỗ trợ CRS84 (kinh độ/vĩ độ)",
    ),
    (
        r"resolution was (?P<r>-?\d+); expected 0-(?P<b>\d+) \(the cells are at "
        r"(?P<c>\d+)\)",
        "độ phân giải là {r}; cần trong khoảng 0-{b} (ô lưới của kết quả ở độ phân "
        "giải {c})",
    ),
    (
        r"resolution was (?P<r>-?\d+); expected 0-15",
        "độ phân giải là {r}; cần trong khoảng 0-15",
    ),
    (r"Not Found", "Không tìm thấy"),
    (r"Method Not Allowed", "Phương thức không được phép"),
    (
        r"this is a write: send Authorization: Bearer <API key>",
        "đây là thao tác ghi: hãy gửi Authorization: Bearer <khoá API>",
    ),
    (r"the API key is not valid", "khoá API không hợp lệ"),
    (
        r"no map layer '(?P<id>.*)'; see /maps/layers",
        "không có lớp bản đồ '{id}'; xem /maps/layers",
    ),
    (r"map layer '(?P<id>.*)' has no file", "lớp bản đồ '{id}' không có tệp"),
    (
        r"map layer '(?P<id>.*)' is too large to serve",
        "lớp bản đồ '{id}' quá lớn để phục vụ",
    ),
    (
        r"indicator was (?P<given>.*); expected one of (?P<options>.*)",
        "indicator là {given}; cần một trong: {options}",
    ),
    (r"Content-Length is not a number", "Content-Length không phải là số"),
    (
        r"the body has (?P<n>[\d,]+) bytes; at most (?P<cap>[\d,]+)",
        "nội dung có {n} byte; tối đa {cap} byte",
    ),
    (r"the body passes (?P<cap>[\d,]+) bytes", "nội dung vượt quá {cap} byte"),
    (
        r"the scenario has (?P<n>[\d,]+) (?P<what>\w+); at most (?P<limit>[\d,]+) "
        r"\((?P<env>[A-Z_]+)\)",
        "kịch bản có {n} {what}; tối đa {limit} ({env})",
    ),
    (
        r"at most (?P<rate>\S+) scenarios a minute per key; retry later",
        "tối đa {rate} kịch bản mỗi phút cho mỗi khoá; hãy thử lại sau",
    ),
    (r"the body is not JSON", "nội dung không phải là JSON"),
    (
        r"no scenario '(?P<id>.*)': this service computes no scenarios \(it was "
        r"started without the region's files\)",
        "không có kịch bản '{id}': dịch vụ này không tính kịch bản (được khởi động "
        "mà không có các tệp của vùng)",
    ),
    (r"no scenario '(?P<id>.*)'", "không có kịch bản '{id}'"),
    (
        r"scenarios need the region's files: start the service with geodx serve "
        r"REGION \(GEODX_REGION\)",
        "kịch bản cần các tệp của vùng: hãy khởi động dịch vụ bằng geodx serve "
        "REGION (GEODX_REGION)",
    ),
    (r"scenarios are not available: (?P<why>.*)", "kịch bản chưa dùng được: {why}"),
    (
        r"commune (?P<code>.*): not in the history store",
        "xã {code}: không có trong kho lịch sử",
    ),
    (
        r"no history store configured \(geodx serve --history STORE\)",
        "chưa cấu hình kho lịch sử (geodx serve --history STORE)",
    ),
    (
        r"point lookups need the region: serve it with geodx serve REGION "
        r"\(GEODX_REGION unset\)",
        "tra cứu theo điểm cần các tệp của vùng: hãy chạy geodx serve REGION "
        "(chưa đặt GEODX_REGION)",
    ),
    (
        r"(?P<file>\S+) is missing from these results or unreadable; run geodx run "
        r"again to plan",
        "{file} không có trong kết quả này hoặc không đọc được; hãy chạy lại geodx "
        "run để lập kế hoạch",
    ),
]
MESSAGES = [(re.compile(p, re.DOTALL), t) for p, t in _MESSAGES]


def translate(message: str, status: int) -> str:
    """``message`` in Vietnamese; values it quotes stay as they are.

    Examples
    --------
    >>> translate("no commune with code '9'", 404)
    "không có xã nào có mã '9'"
    >>> translate("something new", 400)
    'Yêu cầu không hợp lệ: something new'
    """
    for pattern, template in MESSAGES:
        if m := pattern.fullmatch(message):
            parts = {k: WORDS_VI.get(v, v) for k, v in m.groupdict().items()}
            return template.format(**parts)
    return f"{STATUS_VI.get(status, f'Lỗi {status}')}: {message}"


WHERE_VI = {
    "query": "tham số truy vấn",
    "path": "tham số đường dẫn",
    "header": "tiêu đề",
    "cookie": "cookie",
    "body": "nội dung",
}
VALIDATION_VI = {
    "missing": "bắt buộc nhưng chưa có",
    "int_parsing": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "float_parsing": "phải là số",
    "float_type": "phải là số",
    "finite_number": "phải là số hữu hạn",
    "bool_parsing": "phải là true hoặc false",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "greater_than": "phải lớn hơn {gt}",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "less_than": "phải nhỏ hơn {lt}",
    "string_too_short": "phải có ít nhất {min_length} ký tự",
    "string_too_long": "chỉ được có tối đa {max_length} ký tự",
    "literal_error": "phải là một trong: {expected}",
    "enum": "phải là một trong: {expected}",
    "json_invalid": "không phải là JSON hợp lệ",
    "string_type": "phải là chuỗi ký tự",
    "dict_type": "phải là một đối tượng JSON",
    "model_attributes_type": "phải là một đối tượng JSON",
    "list_type": "phải là một danh sách",
}
PATTERN_HINTS_VI = {
    "bbox": "cần 4 hoặc 6 số cách nhau bởi dấu phẩy, kinh độ/vĩ độ (CRS84): "
    "tây,nam,đông,bắc, kinh độ trong -180..180 và vĩ độ trong -90..90",
}


def validation_message(err: Mapping[str, Any]) -> str:
    """One pydantic error in Vietnamese: where, then what was wrong.

    Examples
    --------
    >>> validation_message({"loc": ("query", "limit"), "type": "greater_than_equal",
    ...                     "ctx": {"ge": 1}, "msg": "x"})
    "tham số truy vấn 'limit': phải lớn hơn hoặc bằng 1"
    """
    loc = [str(p) for p in err.get("loc", ())]
    where = (
        f"{WHERE_VI.get(loc[0], loc[0])} '{'.'.join(loc[1:])}'"
        if len(loc) > 1
        else "yêu cầu"
    )
    kind = str(err.get("type", ""))
    if kind == "string_pattern_mismatch":
        given = str(err.get("input"))
        given = given if len(given) <= 80 else given[:77] + "..."
        name = loc[-1] if loc else ""
        hint = PATTERN_HINTS_VI.get(name, "không đúng định dạng")
        return f"{where}: {given!r} không hợp lệ; {hint}"
    ctx = {
        k: str(v).replace(" or ", " hoặc ") for k, v in (err.get("ctx") or {}).items()
    }
    template = VALIDATION_VI.get(kind)
    try:
        text = template.format(**ctx) if template else None
    except (KeyError, IndexError):
        text = None
    return f"{where}: {text or 'giá trị không hợp lệ (' + str(err.get('msg')) + ')'}"
