"""A serving process follows the index as other processes change it (issue 15: an index read by a team at once,
added to a few reports at a time): the next request after a colleague's `reportrag remove` or `ingest` sees the
change, without a restart, while requests under way finish on the index they started with."""

from __future__ import annotations

import logging
import os
import shutil
import time

import pytest
from reportrag.index import document_store

from reportrag.core.errors import ReportragError
from reportrag.core.files import writer_lock
from reportrag.retrieval.search import Searcher
from reportrag.service import Service, ingesting
from tests.api_workers import api_workers
from tests.conftest import FAST_MODEL, run_cli
from tests.test_plumbing_on_fake_index import copy_index

QUESTION = "shelters for victims of domestic violence"


@pytest.fixture
def settings(search_settings, searcher, tmp_path, monkeypatch):
    """A private copy of the session's index (all-MiniLM-L6-v2), served by services that share the session's
    loaded model instead of loading it again."""
    monkeypatch.setattr(ingesting, "make_query_embedder", lambda _settings: searcher.embedder)
    return copy_index(search_settings, tmp_path)


def ranked(searcher) -> list[tuple[str, float]]:
    return [(h.passage.passage_id, round(h.score, 6)) for h in searcher.search(QUESTION, k=10)]


def served(service: Service, predicate, seconds: float = 60.0):
    """The service's searcher once ``predicate`` holds for it (it is reopened in the background)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        searcher = service.searcher
        if predicate(searcher):
            return searcher
        time.sleep(0.05)
    raise AssertionError("the service did not follow the index within a minute")


def cli(settings, *args):
    env = {"REPORTRAG_CACHE_DIR": str(settings.index.cache_dir), "REPORTRAG_MODEL": FAST_MODEL}
    return run_cli(*args, index_dir=settings.index.index_dir, env=env, check=True)


def test_a_report_removed_by_another_process_leaves_the_served_index_at_the_next_request(settings):
    service = Service(settings)
    first = service.searcher
    before = ranked(first)
    assert {"cedaw", "review"} <= {d["doc_id"] for d in service.documents()}
    assert any(pid.startswith("cedaw") for pid, _ in before)

    cli(settings, "remove", "cedaw")  # a colleague's command, in its own process

    assert [d["doc_id"] for d in service.documents()] == ["review"]  # the list is read again at once
    followed = served(service, lambda s: s is not first)
    assert "cedaw" not in followed.documents
    assert ranked(followed) == ranked(Searcher(settings.index.index_dir, first.embedder))  # as a fresh open
    assert ranked(first) == before  # a request under way finishes on the index it started with


def test_a_writer_under_way_is_waited_for_and_its_change_served_whole(settings):
    """The background open takes the writer lock shared: while an ingest holds it, the index open is served;
    once the writer is done, its change is."""
    service = Service(settings)
    first = service.searcher
    manifest = settings.index.index_dir / "search" / "manifest.json"
    with writer_lock(settings.index.index_dir):
        # a writer switching the manifest (here, to a copy of itself) and not yet done
        shutil.copyfile(manifest, manifest.with_suffix(".tmp"))
        os.replace(manifest.with_suffix(".tmp"), manifest)
        assert service.searcher is first
        time.sleep(1.5)  # the fake index opens in a fraction of this
        assert service.searcher is first
    followed = served(service, lambda s: s is not first)
    assert ranked(followed) == ranked(first)


def test_a_change_that_cannot_be_opened_keeps_the_index_open_said_once(settings, caplog):
    service = Service(settings)
    first = service.searcher
    manifest = settings.index.index_dir / "search" / "manifest.json"
    manifest.write_text("[]", encoding="utf-8")  # damaged by some other program
    with caplog.at_level(logging.WARNING, logger="reportrag.service.service"):
        for _ in range(20):
            assert service.searcher is first
            time.sleep(0.05)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not caplog.records:
            assert service.searcher is first
            time.sleep(0.05)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "cannot be opened" in warnings[0] and "manifest is damaged" in warnings[0], warnings
    assert ranked(service.searcher) == ranked(first)

    ingesting.refresh_search_index(settings, first.embedder)  # mended (the vectors cached): followed again
    assert ranked(served(service, lambda s: s is not first)) == ranked(first)


def test_the_last_report_removed_elsewhere_leaves_nothing_to_serve(settings):
    service = Service(settings)
    first = service.searcher
    for doc_id in document_store.doc_ids(settings.index.index_dir):
        cli(settings, "remove", doc_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            assert service.searcher.documents
        except ReportragError as e:  # once followed, the next request opens nothing: the one-line way out
            assert "reportrag ingest" in str(e) and "\n" not in str(e)
            break
        time.sleep(0.05)
    else:
        raise AssertionError("still serving removed reports")
    assert ranked(first)  # requests that held it finish


def test_following_can_be_turned_off(settings):
    service = Service(settings.but(follow_index=False))
    first = service.searcher
    cli(settings, "remove", "cedaw")
    time.sleep(1.0)
    assert service.searcher is first and "cedaw" in service.searcher.documents


def test_every_worker_of_the_api_serves_a_colleague_s_removal_then_re_ingest(settings, searcher):
    """``reportrag api --workers 2``: each request reaches one worker or the other, so many in a row that all show
    the change show that both processes followed it, each on its own."""
    questions = [QUESTION, "women in the Mazhilis", "death penalty abolished"]
    expected = [[h.passage.passage_id for h in searcher.search(q, k=5)] for q in questions]

    def reports(api) -> set[str]:
        return {d["doc_id"] for d in api.get("docs")}

    def searched(api) -> list[list[str]]:
        return [[h["passage_id"] for h in api.get("search", q=q, k=5)] for q in questions]

    def until(check, seconds: float = 90.0) -> None:
        deadline = time.monotonic() + seconds
        while not all(check() for _ in range(12)):
            assert time.monotonic() < deadline, "a worker did not follow the index"
            time.sleep(0.2)

    with api_workers(settings) as api:
        assert reports(api) == {"cedaw", "review"} and searched(api) == expected
        cli(settings, "remove", "cedaw")
        until(lambda: reports(api) == {"review"} and not any(
            h["doc_id"] == "cedaw" for q in questions for h in api.get("search", q=q, k=10)))
        cli(settings, "ingest")  # the bundled reports: the CEDAW report back, its vectors from the cache
        until(lambda: reports(api) == {"cedaw", "review"} and searched(api) == expected)


def test_the_web_page_lists_the_reports_as_they_are_at_each_load(settings):
    """The header and the report menus are filled at each page load, not once at start: a report a colleague
    removed is gone from them at the next load."""
    from reportrag.skins.web.blocks import build_app

    service = Service(settings)
    app = build_app(service)
    loads = [f for f in app.fns.values() if not f.inputs and any(getattr(o, "elem_id", None) == "rr-header" for o in f.outputs)]
    assert len(loads) == 1

    def listed() -> tuple[set[str], str]:
        ask_filter, _verify, browse, header = loads[0].fn()
        return {c[1] for c in ask_filter["choices"] if isinstance(c, tuple)} | {c[1] for c in browse["choices"]}, header

    ids, header = listed()
    assert ids == {"cedaw", "review"} and "Sixth periodic report" in header
    cli(settings, "remove", "cedaw")
    ids, header = listed()
    assert ids == {"review"} and "Sixth periodic report" not in header and "Annual Review" in header
