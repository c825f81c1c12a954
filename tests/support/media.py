"""Uploading media through the API and a signed URL, as a client does (docs/api.md#media)."""

from __future__ import annotations

import requests

from tests.support.api import ApiClient


def request_upload(api: ApiClient, data_size: int, mime: str, kind: str, name: str = "f"):
    """``POST /media/upload-url`` for ``data_size`` bytes; returns the JSON answer."""
    response = api.post(
        "/media/upload-url",
        json={"fileName": name, "mimeType": mime, "size": data_size, "kind": kind},
    )
    assert response.status_code == 201, response.text
    return response.json()


def put(ticket: dict, data: bytes, **header_overrides: str) -> requests.Response:
    """PUT ``data`` to the signed URL with the headers the ticket asks for."""
    headers = {**ticket["headers"], **header_overrides}
    return requests.put(ticket["uploadUrl"], data=data, headers=headers, timeout=60)


def upload(api: ApiClient, data: bytes, mime: str = "image/png", kind: str = "IMAGE") -> str:
    """Request a URL, PUT ``data``, confirm; returns the media id (``UPLOADED``)."""
    ticket = request_upload(api, len(data), mime, kind)
    assert put(ticket, data).status_code == 200
    confirmed = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "UPLOADED"
    return ticket["mediaId"]
