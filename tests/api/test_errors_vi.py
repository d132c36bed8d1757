"""With ``lang=vi`` every 4xx the API gives says what was wrong in Vietnamese."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.errors_vi import MESSAGES, STATUS_VI, translate

from .test_errors import BAD

# letters only Vietnamese writes (with their tone marks), not plain ASCII
VIETNAMESE = re.compile(
    r"[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]"
)
MORE = [
    ("/gaps?district_code=999999", 404),
    ("/gaps?indicator=fibre&format=csv&district_code=999999", 404),
    ("/communes?q=hoa&limit=0", 422),
    ("/communes?q=hoa&limit=abc", 422),
    ("/no/such/page", 404),
]
CASES = [(url, status) for url, status in BAD + MORE if "lang=" not in url]


def _with_vi(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "lang=vi"


@pytest.mark.parametrize(("url", "status"), CASES)
def test_every_4xx_message_is_vietnamese(
    client: TestClient, url: str, status: int
) -> None:
    english = client.get(url)
    vi = client.get(_with_vi(url))
    assert english.status_code == vi.status_code == status, url
    en_detail, vi_detail = english.json()["detail"], vi.json()["detail"]
    assert vi_detail != en_detail and VIETNAMESE.search(vi_detail), vi_detail
    # a known message is rebuilt whole, never an English message behind a status name
    assert not vi_detail.startswith(tuple(STATUS_VI.values())) or vi_detail in (
        "Không tìm thấy",
        "Phương thức không được phép",
    ), vi_detail
    assert "\n" not in vi_detail


def test_english_stays_the_default(client: TestClient) -> None:
    body = client.get("/communes/00000").json()
    assert body["detail"] == "no commune with code '00000'"
    assert client.get("/communes/00000?lang=en").json() == body
    vi = client.get("/communes/00000?lang=vi").json()["detail"]
    assert vi == "không có xã nào có mã '00000'"  # the code is unchanged


def test_method_not_allowed_and_codes_unchanged(client: TestClient) -> None:
    r = client.post("/summary?lang=vi")
    assert r.status_code == 405 and r.json()["detail"] == "Phương thức không được phép"
    r = client.get("/collections/cells/items?resolution=17&lang=vi")
    detail = r.json()["detail"]
    assert r.status_code == 422 and "'resolution': phải nhỏ hơn hoặc bằng 15" in detail


def test_every_pattern_of_the_table_translates() -> None:
    samples = {
        "no feature 'x' in collection 'communes'": "không có đối tượng 'x'",
        "filter households='many' is not a valid number": "không phải là số hợp lệ",
        "the scenario has 12 features; at most 10 (GEODX_SCENARIO_MAX_FEATURES)": (
            "kịch bản có 12 đối tượng; tối đa 10"
        ),
        "the API key is not valid": "khoá API không hợp lệ",
        "at most 5 scenarios a minute per key; retry later": "tối đa 5 kịch bản",
        "no scenario 'ab': this service computes no scenarios (it was started "
        "without the region's files)": "không có kịch bản 'ab': dịch vụ này",
        "commune '9': not in the history store": "xã '9': không có trong kho lịch sử",
        "plan.parquet is missing from these results or unreadable; run geodx run "
        "again to plan": "plan.parquet không có trong kết quả này",
    }
    for message, part in samples.items():
        assert part in translate(message, 400), message
    for pattern, template in MESSAGES:
        assert VIETNAMESE.search(template) or template.startswith("Không"), pattern


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/scenarios"),
        ("GET", "/scenarios/ab"),
        ("GET", "/lookup?lon=abc&lat=12"),
        ("GET", "/communes/00000/plan"),
        ("GET", "/communes/00000/brief"),
        ("GET", "/history"),
        ("GET", "/maps/layers/nope"),
    ],
)
def test_the_planning_routes_answer_in_vietnamese_too(
    client: TestClient, method: str, url: str
) -> None:
    english = client.request(method, url)
    vi = client.request(method, _with_vi(url))
    assert english.status_code == vi.status_code >= 400
    if vi.headers["content-type"].startswith("application/json"):
        detail = vi.json()["detail"]
        assert VIETNAMESE.search(detail) and detail != english.json()["detail"], detail
        assert not detail.startswith(tuple(STATUS_VI.values())) or (
            detail == "Không tìm thấy"
        ), detail
