"""Object Storage: the client operations (respx) and the emulator's semantics (real signed HTTP)."""

from __future__ import annotations

import httpx
import pytest
import respx

from core.oci.objectstorage import ObjectStorage, object_path
from core import runtime
from tests.support.runtime import reset_settings

OS = "https://objectstorage.us-chicago-1.oraclecloud.com"


def test_object_names_are_quoted_like_the_sdk():
    assert object_path("ns", "b", "a/b c.txt") == "/n/ns/b/b/o/a%2Fb%20c.txt"
    assert object_path("ns", "b", "..") == "/n/ns/b/b/o/%2E%2E"  # never collapsed as a relative path
    assert object_path("ns", "b", "ü?#") == "/n/ns/b/b/o/%C3%BC%3F%23"


@respx.mock
async def test_conditional_get_streams_and_maps_412_404(gateway_env):
    route = respx.get(f"{OS}/n/ns/b/in/o/dir%2Fa.txt").mock(side_effect=[
        httpx.Response(200, content=b"hello world", headers={"etag": "E1", "content-type": "text/plain"}),
        httpx.Response(412, json={"code": "IfMatchFailed", "message": "no"}),
        httpx.Response(404, json={"code": "ObjectNotFound", "message": "gone"}),
    ])
    store = ObjectStorage(runtime.client)
    stream = await store.open("ns", "in", "dir/a.txt", if_match="E1", byte_range=(0, 99))
    body = b"".join([c async for c in stream.chunks()])
    await stream.aclose()
    assert (stream.info.status, stream.info.etag, body) == (200, "E1", b"hello world")
    sent = route.calls[0].request
    assert sent.headers["if-match"] == "E1" and sent.headers["range"] == "bytes=0-99"
    assert sent.headers["authorization"].startswith("Signature ")
    assert (await store.open("ns", "in", "dir/a.txt", if_match="E0")).info.status == 412
    assert (await store.open("ns", "in", "dir/a.txt", if_match="E0")).info.status == 404


@respx.mock
async def test_put_is_signed_without_body_headers_and_412_is_an_answer(gateway_env):
    route = respx.put(f"{OS}/n/ns/b/out/o/x.json").mock(side_effect=[
        httpx.Response(200, headers={"etag": "NEW"}),
        httpx.Response(412, json={"code": "IfNoneMatchFailed", "message": "exists"}),
    ])
    store = ObjectStorage(runtime.client)
    info = await store.put("ns", "out", "x.json", b"{}", content_type="application/json", if_match="OLD")
    assert info.etag == "NEW"
    sent = route.calls[0].request
    assert sent.headers["if-match"] == "OLD"
    assert 'headers="date (request-target) host"' in sent.headers["authorization"]
    assert "x-content-sha256" not in sent.headers
    assert (await store.put("ns", "out", "x.json", b"{}", if_none_match=True)).status == 412
    assert route.calls[1].request.headers["if-none-match"] == "*"


@respx.mock
async def test_list_follows_pages(gateway_env):
    route = respx.get(url__startswith=f"{OS}/n/ns/b/in/o").mock(side_effect=[
        httpx.Response(200, json={"objects": [{"name": "a", "etag": "1"}], "nextStartWith": "b"}),
        httpx.Response(200, json={"objects": [{"name": "b", "etag": "2", "size": 3}]}),
    ])
    store = ObjectStorage(runtime.client)
    names = [(o.name, o.etag) async for o in store.list("ns", "in", prefix="p/")]
    assert names == [("a", "1"), ("b", "2")]
    assert "start=b" in str(route.calls[1].request.url) and "prefix=p%2F" in str(route.calls[0].request.url)


@respx.mock
async def test_delete_404_and_412_are_answers_5xx_retried(gateway_env):
    respx.delete(f"{OS}/n/ns/b/out/o/gone").mock(return_value=httpx.Response(404, json={"code": "ObjectNotFound",
                                                                                         "message": "x"}))
    flaky = respx.delete(f"{OS}/n/ns/b/out/o/flaky").mock(side_effect=[
        httpx.Response(503, json={"code": "ServiceUnavailable", "message": "x"}, headers={"retry-after": "0"}),
        httpx.Response(204)])
    store = ObjectStorage(runtime.client)
    assert await store.delete("ns", "out", "gone") == 404
    assert await store.delete("ns", "out", "flaky") == 204 and flaky.call_count == 2


# ------------------------------------------------------------------------------------------------
# The emulator's Object Storage, through the real signed client


@pytest.fixture
def served(gateway_env, api_key_credentials):
    import local.emulator as emu
    from local.emulator.objectstorage import install_objectstorage

    emulator = emu.Emulator()
    emulator.add_key(api_key_credentials.key.key_id, api_key_credentials.key.private_key)
    state = install_objectstorage(emulator, namespace="ns")
    state.create_bucket("b")
    server = emu.serve_in_thread(emulator)
    gateway_env.setenv("OCI_OBJECTSTORAGE_ENDPOINT", server.url)
    reset_settings()
    runtime.reset()
    runtime.set_credentials(api_key_credentials)
    yield emulator, state, ObjectStorage(runtime.client)
    server.stop()


async def test_emulator_conditional_reads_ranges_and_writes(served):
    emulator, state, store = served
    etag = state.put("b", "dir/a b.txt", b"0123456789", "text/plain")
    info, body = await store.get_bytes("ns", "b", "dir/a b.txt", byte_range=(2, 4))
    assert (info.status, body, info.size, info.etag) == (206, b"234", 10, etag)
    assert (await store.head("ns", "b", "dir/a b.txt", if_match="wrong")).status == 412
    head = await store.head("ns", "b", "dir/a b.txt", if_match=etag)
    assert (head.status, head.size, head.content_type) == (200, 10, "text/plain")
    result = await store.client.request("GET", store._url(object_path("ns", "b", "dir/a b.txt")),
                                        headers={"if-none-match": etag}, ok_statuses=(304,))
    assert result.status == 304 and result.body == b""
    assert (await store.head("ns", "b", "missing")).status == 404
    # Writes: every write a new ETag; if-none-match: * only creates; if-match guards overwrites.
    created = await store.put("ns", "b", "new.json", b"{}", if_none_match=True)
    assert created.status == 200 and created.etag
    assert (await store.put("ns", "b", "new.json", b"{}", if_none_match=True)).status == 412
    assert (await store.put("ns", "b", "new.json", b"[]", if_match="stale")).status == 412
    updated = await store.put("ns", "b", "new.json", b"[]", if_match=created.etag)
    assert updated.etag != created.etag and state.get("b", "new.json").data == b"[]"
    assert await store.delete("ns", "b", "new.json", if_match=created.etag) == 412
    assert await store.delete("ns", "b", "new.json", if_match=updated.etag) == 204
    assert await store.delete("ns", "b", "new.json") == 404
    assert all(r.verified for r in emulator.requests)
    put = next(r for r in emulator.requests if r.method == "PUT")
    assert "x-content-sha256" not in put.headers  # verified under the PutObject exemption


async def test_emulator_streams_large_objects_and_lists_in_pages(served):
    _, state, store = served
    data = bytes(range(256)) * 8192  # 2 MiB
    state.put("b", "big.bin", data)
    for i in range(5):
        state.put("b", f"p/{i}", b"x" * i)
    stream = await store.open("ns", "b", "big.bin")
    pieces = [c async for c in stream.chunks()]
    await stream.aclose()
    assert b"".join(pieces) == data and len(pieces) > 1
    page, cursor = await store.list_page("ns", "b", prefix="p/", limit=2, fields="name,size")
    assert [(o.name, o.size, o.etag) for o in page] == [("p/0", 0, None), ("p/1", 1, None)] and cursor == "p/2"
    assert [o.name async for o in store.list("ns", "b", prefix="p/", page_size=2)] == [f"p/{i}" for i in range(5)]
    assert await store.get_namespace() == "ns"


async def test_emulator_rejects_unsigned_requests_and_unknown_buckets(served):
    emulator, _, store = served
    base = store._url("")
    async with httpx.AsyncClient() as plain:
        response = await plain.get(f"{base}/n/ns/b/b/o")
    assert response.status_code == 401
    with pytest.raises(Exception) as caught:
        await store.list_page("ns", "nobucket")
    assert getattr(caught.value, "status", None) == 404
