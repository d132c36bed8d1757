"""Bad requests get a 4xx with a one-line JSON ``detail``; never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.errors import STATUS_CODES, BadRequest, NotFound
from api.main import create_app
from api.settings import Settings
from geodx.errors import InputFileError, InvalidResolution, UnknownCommune

ITEMS = "/collections/communes/items"
BAD = [
    (f"{ITEMS}?bbox=nan,12,108,13", 422),
    (f"{ITEMS}?bbox=107,12,inf,13", 422),
    (f"{ITEMS}?bbox=107,12,108", 422),
    (f"{ITEMS}?bbox=107,12,108,13,14", 422),
    (f"{ITEMS}?bbox=107,-91,108,13", 422),
    (f"{ITEMS}?bbox=-181,12,108,13", 422),
    (f"{ITEMS}?bbox=107,13,108,12", 400),
    (f"{ITEMS}?bbox=a,b,c,d", 422),
    (f"{ITEMS}?bbox=", 422),
    (f"{ITEMS}?bbox=" + "1," * 200, 422),
    (f"{ITEMS}?bbox=107,12,108,13&bbox-crs=EPSG:4326", 400),
    (f"{ITEMS}?limit=0", 422),
    (f"{ITEMS}?limit=-5", 422),
    (f"{ITEMS}?limit=ten", 422),
    (f"{ITEMS}?limit=1e3", 422),
    (f"{ITEMS}?offset=-1", 422),
    (f"{ITEMS}?no_such_property=1", 400),
    (f"{ITEMS}?households=many", 400),
    (f"{ITEMS}?fibre_target_met=perhaps", 422),
    (f"{ITEMS}?resolution=7", 400),
    (f"{ITEMS}?indicator=mobile", 400),
    ("/collections/cells/items?resolution=10", 422),
    ("/collections/cells/items?resolution=17", 422),
    ("/collections/cells/items?resolution=-1", 422),
    ("/collections/nope/items", 404),
    ("/collections/nope", 404),
    (f"/collections/{'x' * 1000}/items", 422),
    (f"{ITEMS}/99999", 404),
    (f"{ITEMS}/{'9' * 5000}", 422),
    (f"{ITEMS}/%00", 404),
    (f"{ITEMS}/..%2F..%2Fetc", 404),
    (f"{ITEMS}/Hòa%20Phú", 404),
    ("/collections/gaps/items?indicator=5g", 422),
    ("/communes/00000", 404),
    (f"/communes/{'1' * 100}", 422),
    ("/communes?q=", 422),
    ("/communes", 422),
    ("/gaps?indicator=6g", 422),
    ("/gaps?format=pdf", 422),
    ("/gaps?lang=fr", 422),
    ("/maps/coverage?indicator=6g", 422),
    ("/maps/communes/00000", 404),
    ("/?f=xml", 422),
]


@pytest.mark.parametrize(("url", "status"), BAD)
def test_bad_requests_get_4xx_with_a_message(
    client: TestClient, url: str, status: int
) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail


def test_unknown_paths_get_json_404(client: TestClient) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_status_table_covers_the_domain_errors() -> None:
    assert (
        STATUS_CODES[UnknownCommune] == 404 and STATUS_CODES[InvalidResolution] == 422
    )
    assert STATUS_CODES[BadRequest] == 400 and STATUS_CODES[NotFound] == 404


def test_missing_results_folder_fails_at_startup_naming_the_file(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(results_dir=tmp_path / "absent"))
    with pytest.raises(InputFileError, match="summary.json"), TestClient(app):
        pass


def test_bad_bbox_message_is_readable_not_a_regex(client: TestClient) -> None:
    r = client.get("/collections/communes/items", params={"bbox": "1,2,3"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "'1,2,3' is not valid; expected 4 or 6 comma-separated numbers" in detail
    assert "(?:" not in detail
    r = client.get("/collections/communes/items", params={"bbox": "9" * 500})
    assert r.status_code == 422 and len(r.json()["detail"]) < 300
