"""`vaekit serve` as a user starts it: a subprocess on 127.0.0.1 that prints its URL, refuses raw
path-traversal requests (sent unnormalised, as no browser would) and survives bad requests."""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest


def _request(url: str, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_serve_prints_its_url_on_127_0_0_1(live_server):
    url, process, first_line = live_server
    assert url in first_line and "127.0.0.1" in first_line
    assert process.poll() is None


@pytest.mark.parametrize("path", ["/static/../../config.yaml", "/static/../checkpoint/model.json",
                                  "/static/..%2F..%2Fconfig.yaml", "/static/%2e%2e/%2e%2e/config.yaml",
                                  "/report/../../config.yaml", "/report/..%2fconfig.yaml", "/../config.yaml",
                                  "/static/....//....//config.yaml", "/static/..\\..\\config.yaml"])
def test_raw_traversal_paths_reach_nothing_in_the_run_folder(live_server, path):
    url, _, _ = live_server
    status, body = _request(url, "GET", path)
    assert status in (400, 404), (path, status)
    assert b"run_dir" not in body and b"weights_sha256" not in body


def test_bad_requests_do_not_stop_the_server(live_server):
    url, process, _ = live_server
    for body in (b"{", b'{"latents": [[NaN, 1]]}', b'{"latents": [[1e300, 0]]}', b"\x00" * 100):
        status, reply = _request(url, "POST", "/api/decode", body)
        assert 400 <= status < 500 and json.loads(reply)["detail"]
    status, reply = _request(url, "POST", "/api/decode", b'{"latents": [[0.5, -0.5]]}')
    assert status == 200 and len(json.loads(reply)["means"]) == 1
    assert process.poll() is None


def test_a_chunked_body_of_unknown_size_is_refused(live_server):
    url, process, _ = live_server
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", "/api/decode", body=iter([b'{"latents": ', b"[[0, 0]]}"]),
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 411 and b"Content-Length" in response.read()
    finally:
        connection.close()
    assert process.poll() is None
