"""Settings: one nested object, read from REPORTRAG_<FIELD> and --set, bad values refused in one line."""

from __future__ import annotations

import pytest

from reportrag.core.errors import ReportragError
from reportrag.core.settings import SECTION_OF, SECTIONS, Settings, parse_assignments
from tests.conftest import run_cli


def test_field_names_are_unique_across_sections():
    names = [n for cls in SECTIONS.values() for n in cls.model_fields]
    assert len(names) == len(set(names)) == len(SECTION_OF)


def test_flat_names_land_in_their_sections(tmp_path):
    s = Settings(index_dir=tmp_path, max_quotes=3, keyword_weight=0.2)
    assert s.index.index_dir == tmp_path and s.answers.max_quotes == 3 and s.retrieval.keyword_weight == 0.2
    assert s.ingest.max_passage_tokens == 200  # the rest keep their defaults


def test_environment_then_overrides(tmp_path):
    env = {"REPORTRAG_MAX_QUOTES": "4", "REPORTRAG_ALLOW_UPLOADS": "1", "REPORTRAG_CHAT_MODEL": ""}
    s = Settings.from_env(env, index_dir=tmp_path, max_quotes=None)
    assert s.answers.max_quotes == 4 and s.server.allow_uploads is True and s.generation.chat_model is None
    assert Settings.from_env(env, max_quotes=2).answers.max_quotes == 2


@pytest.mark.parametrize(("env", "message"), [
    ({"REPORTRAG_MAX_QUOTES": "many"}, "max_quotes='many' (REPORTRAG_MAX_QUOTES): Input should be a valid integer"),
    ({"REPORTRAG_UNVERIFIED": "ignore"}, "unverified='ignore' (REPORTRAG_UNVERIFIED)"),
    ({"REPORTRAG_PORT": "0"}, "port='0' (REPORTRAG_PORT): Input should be greater than or equal to 1"),
])
def test_a_bad_value_is_one_line_naming_its_variable(env, message):
    with pytest.raises(ReportragError, match="fix or unset it") as e:
        Settings.from_env(env)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError):
        Settings(no_such_setting=1)
    with pytest.raises(ReportragError, match="expected FIELD=VALUE"):
        parse_assignments(["no_such_setting=1"])
    assert parse_assignments(["answers.max_quotes=3", "port=8000"]) == {"max_quotes": "3", "port": "8000"}


def test_cli_set_and_settings_command(tmp_path):
    proc = run_cli("--set", "max_quotes=2", "settings", index_dir=tmp_path, check=True)
    assert '"max_quotes": 2' in proc.stdout
    bad = run_cli("--set", "max_quotes=x", "settings", index_dir=tmp_path)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "REPORTRAG_MAX_QUOTES" in bad.stderr


def test_but_changes_fields_by_name_and_validates(tmp_path):
    base = Settings(index_dir=tmp_path)
    changed = base.but(max_file_bytes=4096, keyword_weight=0.3)
    assert changed.ingest.max_file_bytes == 4096 and changed.retrieval.keyword_weight == 0.3
    assert changed.index.index_dir == tmp_path and base.ingest.max_file_bytes != 4096
    with pytest.raises(ValueError):
        base.but(max_file_bytes=0)
