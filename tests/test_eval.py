"""`reportrag eval` on the real question set and index: result files, plots, README table, abstention curve."""

from __future__ import annotations

import json

from reportrag.eval import results as eval_results
from reportrag.eval.runner import abstention_tradeoff, evaluate, load_questions, score_hits

from reportrag.core.settings import PROJECT_ROOT
from tests.conftest import run_cli

QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"


def test_eval_command_writes_json_markdown_and_plots(search_settings, searcher, tmp_path):
    out = tmp_path / "results"
    env = {"REPORTRAG_CACHE_DIR": str(search_settings.index.cache_dir)}
    proc = run_cli("eval", "--modes", "keyword,hybrid", "--no-baseline", "--out", str(out),
                   index_dir=search_settings.index.index_dir, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "questions.json").read_text(encoding="utf-8"))
    assert list(report["results"]) == ["keyword", "hybrid"]
    assert report["answerable"] + report["unanswerable"] == report["questions"] == len(load_questions(QUESTIONS))
    hybrid = report["results"]["hybrid"]
    assert [hybrid[f"recall@{k}"] for k in range(1, 11)] == sorted(hybrid[f"recall@{k}"] for k in range(1, 11))
    assert hybrid["recall@5"] > report["results"]["keyword"]["recall@5"]
    assert set(hybrid["by_type"]) >= {"fact", "paraphrase", "section", "cross-report", "concluding-observations", "identifier"}
    table = (out / "questions.md").read_text(encoding="utf-8")
    assert f"| hybrid | {hybrid['recall@1']:.3f} | **{hybrid['recall@5']:.3f}**" in table
    assert table in proc.stdout
    for name in ("recall_at_k.png", "recall_by_type.png", "abstention.png"):
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5_000


def test_bad_question_file_is_a_clear_error(search_settings, tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "a", "question": "x", "gold": []}\n{"id": "b", "question": \n', encoding="utf-8")
    proc = run_cli("eval", "--questions", str(bad), "--no-baseline", "--out", str(tmp_path / "r"), index_dir=search_settings.index.index_dir)
    assert proc.returncode == 1 and f"{bad}:2:" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("eval", "--modes", "hybrid,magic", "--out", str(tmp_path / "r"), index_dir=search_settings.index.index_dir)
    assert proc.returncode == 1 and "magic" in proc.stderr and "Traceback" not in proc.stderr


def test_scoring_counts_a_hit_wherever_its_copies_stand(searcher):
    questions = [q for q in load_questions(QUESTIONS) if q["gold"]][:20]
    results = evaluate(searcher, questions, modes=("hybrid",))["hybrid"]
    assert results["n"] == 20 and 0 < results["recall@5"] <= 1
    # the gold passage itself, found at rank 1, scores a perfect row
    q = questions[0]
    gold = next(p for p in searcher.passages if q["gold"][0] in p.text)
    row = score_hits([q], [[gold]], {d: doc.text for d, doc in searcher.documents.items()}, 0.0)
    assert row["recall@1"] == row["mrr@10"] == row["ndcg@10"] == 1.0


def test_abstention_curve_is_a_tradeoff(searcher):
    curve = abstention_tradeoff(searcher, load_questions(QUESTIONS))["curve"]
    flagged = [(c["answerable_flagged"], c["unanswerable_flagged"]) for c in curve]
    assert flagged[0] == (0.0, 0.0) and flagged[-1][0] > 0.9  # lowest threshold flags nothing, highest nearly all
    assert all(x1 <= x2 and y1 <= y2 for (x1, y1), (x2, y2) in zip(flagged, flagged[1:]))


def test_readme_table_is_replaced_between_markers_only(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{eval_results.README_START}\nold\n{eval_results.README_END}\noutro\n", encoding="utf-8")
    eval_results.update_readme(readme, "| new |\n")
    assert readme.read_text(encoding="utf-8") == f"intro\n{eval_results.README_START}\n| new |\n{eval_results.README_END}\noutro\n"
