"""``make serve``'s local bucket: a folder mirrored into the emulator's bucket, one CloudEvent per change, and the
embedded PostgreSQL's URL known before it is up."""

from __future__ import annotations

import os

from core.ingest.events import parse_event
from local.bucket import INPUT_BUCKET, EmbeddedPostgres, FolderWatcher
from local.emulator.objectstorage import ObjectStorageState


def test_a_folder_becomes_objects_and_events(tmp_path):
    objects = ObjectStorageState("localns")
    events = []
    watcher = FolderWatcher(tmp_path / "bucket", objects, lambda body: events.append(parse_event(body)) or "ok")
    watcher.folder.mkdir()
    (watcher.folder / "a.txt").write_text("first")
    (watcher.folder / "sub").mkdir()
    (watcher.folder / "sub" / "b.md").write_text("# second")
    (watcher.folder / ".hidden").write_text("editor swap file")

    watcher.scan()
    (watcher.folder / "a.txt").write_text("first, edited")
    os.utime(watcher.folder / "a.txt", (1, 1))
    (watcher.folder / "sub" / "b.md").unlink()
    watcher.scan()
    watcher.scan()  # nothing changed: no event

    assert [(e.kind, e.name) for e in events] == [("createobject", "a.txt"), ("createobject", "sub/b.md"),
                                                  ("updateobject", "a.txt"), ("deleteobject", "sub/b.md")]
    assert events[2].etag == objects.get(INPUT_BUCKET, "a.txt").etag and events[2].namespace == "localns"
    assert objects.get(INPUT_BUCKET, "a.txt").data == b"first, edited" and objects.get(INPUT_BUCKET, "sub/b.md") is None
    assert objects.names(INPUT_BUCKET) == ["a.txt"]


def test_the_embedded_database_answers_at_the_url_announced_before_it_started():
    import psycopg

    postgres = EmbeddedPostgres()
    announced = postgres.url
    try:
        postgres.start().wait()
        with psycopg.connect(announced) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        postgres.stop()
    assert not postgres.folder.exists()
