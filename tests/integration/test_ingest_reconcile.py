"""The scheduled reconciliation, through the real fdk into func.py (role ``ingest``): lost create and delete
events, unfinished runs, runs a continuation owns, and a reconciliation longer than one invocation."""

from __future__ import annotations

import json
import time

from tests.integration.ingest_world import FIXTURES, INPUT, OUTPUT, event, letter_of, manifest_of, outputs, upload

RECONCILE = {"gatewayReconcile": {}}


def test_objects_whose_events_were_lost_are_embedded_and_current_ones_are_not_read(ingest, emulator, store):
    current = upload(store, "a.txt", b"Embedded by its own event.\n", "text/plain")
    assert ingest(event("createobject", "a.txt", current))["status"] == "embedded"
    upload(store, "b.md", (FIXTURES / "notes.md").read_bytes(), "text/markdown")  # its event never came
    upload(store, "c.png", (FIXTURES / "photo.png").read_bytes(), "image/png")
    emulator.reset()

    answer = ingest(RECONCILE)

    assert answer["status"] == "complete" and answer["buckets"] == [INPUT]
    assert answer["counts"] == {"unchanged": 1, "embedded": 1, "skipped": 1}
    assert manifest_of(store, "b.md")["status"] == "complete" and letter_of(store, "c.png")["reason"] == "binary"
    reads = [r.path for r in emulator.requests if r.method == "GET" and f"/b/{INPUT}/o/a.txt" in r.path]
    assert reads == []  # a.txt's complete manifest named its ETag: not read again
    assert ingest(RECONCILE)["counts"] == {"unchanged": 3}  # a second run changes nothing


def test_outputs_of_objects_deleted_without_an_event_are_removed(ingest, store):
    kept = upload(store, "kept.txt", b"This one stays.\n", "text/plain")
    gone = upload(store, "gone.txt", b"This one is deleted; its delete event is lost.\n", "text/plain")
    for name, etag in (("kept.txt", kept), ("gone.txt", gone)):
        assert ingest(event("createobject", name, etag))["status"] == "embedded"
    upload(store, "bad.png", (FIXTURES / "photo.png").read_bytes(), "image/png")
    assert ingest(event("createobject", "bad.png", store.get(INPUT, "bad.png").etag))["status"] == "skipped"
    store.remove(INPUT, "gone.txt")
    store.remove(INPUT, "bad.png")

    answer = ingest(RECONCILE)

    assert answer["counts"] == {"unchanged": 1, "removed": 2}
    assert outputs(store, "gone.txt") == [] and letter_of(store, "bad.png") is None
    assert manifest_of(store, "kept.txt")["status"] == "complete"


def test_an_unfinished_run_is_resumed_but_one_a_continuation_owns_is_left_alone(ingest_factory, emulator, store):
    ingest = ingest_factory({"OCI_MAX_RETRIES": "1"})
    etag = upload(store, "guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain")
    emulator.inject(429, times=2, retry_after="0", path_contains="embedText")
    assert ingest(event("createobject", "guide.txt", etag), deadline_s=60)["status"] == "partial"
    emulator.reset()
    manifest = manifest_of(store, "guide.txt")
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    store.put(OUTPUT, "embeddings/guide.txt/manifest.json",
              json.dumps({**manifest, "continuation": {"mode": "invoke", "until": until}}).encode())

    assert ingest(RECONCILE)["counts"] == {"in_progress": 1}
    assert not [r for r in emulator.requests if "embedText" in r.path]

    store.put(OUTPUT, "embeddings/guide.txt/manifest.json", json.dumps(manifest).encode())  # the lease is over
    assert ingest(RECONCILE)["counts"] == {"embedded": 1}
    assert manifest_of(store, "guide.txt")["status"] == "complete" and letter_of(store, "guide.txt") is None


def test_a_reconciliation_longer_than_an_invocation_goes_on_detached(ingest_factory, emulator, store):
    from local.emulator.functions import install_functions

    function_id = "ocid1.fnfunc.oc1.us-chicago-1.aaaaaaaareconcile"
    functions = install_functions(emulator.emulator)
    ingest = ingest_factory({"INGEST_CONTINUATION": "invoke", "FN_FN_ID": function_id,
                             "OCI_FUNCTIONS_ENDPOINT": emulator.url, "INGEST_TIME_RESERVE_SECONDS": "2"})

    async def invoke(body: bytes, invoke_type: str, intent: str) -> tuple[int, bytes]:
        result = await ingest.proc.acall_invoke(body, intent=intent, deadline_s=6, invoke_type=invoke_type)
        return result.status, result.body

    functions.register(function_id, invoke)
    warm = upload(store, "warm.txt", b"The first object loads the tokenizer.\n", "text/plain")
    assert ingest(event("createobject", "warm.txt", warm))["status"] == "embedded"
    names = [f"doc-{n:03d}.txt" for n in range(160)]
    for name in names:
        upload(store, name, f"Document {name} tells one short story.\n".encode(), "text/plain")
    emulator.emulator.latency = 0.01  # each object takes about ten calls: 160 of them do not fit in 2.5 s

    first = ingest(RECONCILE, deadline_s=6)

    assert first["status"] == "partial" and first["continuation"] == "sent", first
    limit = time.monotonic() + 120

    def reconciling() -> list:
        return [c for c in functions.invocations if b"gatewayReconcile" in c.body]

    while time.monotonic() < limit and (functions.running() or b'"continuation":"sent"' in reconciling()[-1].answer):
        time.sleep(0.2)
    answers = [first] + [json.loads(c.answer) for c in reconciling()]
    assert answers[-1]["status"] == "complete" and all(c.invoke_type == "detached" for c in reconciling())
    assert [a["invocation"] for a in answers] == list(range(1, len(answers) + 1))
    handled = {}
    for answer in answers:
        for status, count in answer["counts"].items():
            handled[status] = handled.get(status, 0) + count
    assert sum(handled.values()) == 161 and handled["unchanged"] == 1  # every object exactly once
    emulator.emulator.latency = 0
    ingest(RECONCILE, deadline_s=120)  # an object that ran short inside the chain is finished by the next run
    assert all(manifest_of(store, name)["status"] == "complete" for name in names)
