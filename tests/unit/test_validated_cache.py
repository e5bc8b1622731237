"""Templates validated before: an unchanged template is not read and checked again, and what
the cache answers is what checking answers.

A hit is proven by making the parser fail: the answer must come from the entry. Every corpus
template (and each of its environments) loads from its entry equal to its first, checked load
(which ``_same`` holds equal to ``load_checked``'s).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tasker_ctl.errors import TemplateLoadError
from tasker_ctl.schema_refs import register_schema, unregister_schema
from tasker_ctl.template import source, validated_cache
from tasker_ctl.template.diagnostics import Severity
from tasker_ctl.template.environment import declared_environments
from tasker_ctl.template.source import read_document
from tasker_ctl.template.validated_cache import ValidTemplate, load_valid
from tasker_ctl.template.validator import load_checked
from tests.unit.test_corpus import corpus_files

VALID = {
    "name": "cached",
    "namespace_name": "cache",
    "version": "1.0.0",
    "steps": [
        {
            "name": "only",
            "handler": {"callable": "cache.only"},
            "result_schema": {"type": "object"},
        }
    ],
}


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("the template was parsed again")

    # the cache imports the reader on a miss only: patched where it is looked up then
    monkeypatch.setattr(source, "parse_document", refuse)


def _same(cached: ValidTemplate, fresh_path: Path, environment: str | None = None) -> None:
    fresh = load_checked(fresh_path, environment=environment)
    assert cached.content_hash == fresh.content_hash
    assert cached.template == fresh.template
    assert cached.template.model_dump(mode="json", by_alias=True) == fresh.template.model_dump(
        mode="json", by_alias=True
    )


def test_a_second_load_comes_from_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = _write(tmp_path / "t.yaml", VALID)
    cache = tmp_path / "cache"
    first = load_valid(template, cache_dir=cache)
    assert len(list(cache.glob("*.json"))) == 1
    _no_parsing(monkeypatch)
    second = load_valid(template, cache_dir=cache)
    assert second == first
    monkeypatch.undo()  # the fresh check to compare with parses, of course
    _same(second, template)


def test_changed_bytes_are_checked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = _write(tmp_path / "t.yaml", VALID)
    cache = tmp_path / "cache"
    load_valid(template, cache_dir=cache)
    _write(template, {**VALID, "version": "1.0.1"})
    assert load_valid(template, cache_dir=cache).template.version == "1.0.1"
    assert len(list(cache.glob("*.json"))) == 2
    # and a broken edit is reported, not answered from the older entry
    template.write_text(json.dumps(VALID) + "\n# comment\nsteps: 3\n", encoding="utf-8")
    with pytest.raises(TemplateLoadError):
        load_valid(template, cache_dir=cache)


def test_a_template_with_errors_is_never_stored(tmp_path: Path) -> None:
    template = _write(tmp_path / "t.yaml", {**VALID, "steps": []})
    cache = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(TemplateLoadError) as raised:
            load_valid(template, cache_dir=cache)
        assert raised.value.report.count(Severity.ERROR) >= 1  # type: ignore[attr-defined]
    assert not list(cache.glob("*.json"))


def test_a_damaged_entry_is_a_miss_and_is_replaced(tmp_path: Path) -> None:
    template = _write(tmp_path / "t.yaml", VALID)
    cache = tmp_path / "cache"
    load_valid(template, cache_dir=cache)
    (entry,) = cache.glob("*.json")
    for damage in ("{not json", json.dumps({"template": {"name": 3}, "content_hash": "x"}), ""):
        entry.write_text(damage, encoding="utf-8")
        _same(load_valid(template, cache_dir=cache), template)
        assert json.loads(entry.read_text(encoding="utf-8"))["content_hash"].startswith("sha256:")


def test_the_environment_is_part_of_the_key(tmp_path: Path) -> None:
    data = {
        **VALID,
        "environments": {"test": {"steps": [{"name": "only", "timeout_seconds": 7}]}},
    }
    template = _write(tmp_path / "t.yaml", data)
    cache = tmp_path / "cache"
    plain = load_valid(template, cache_dir=cache)
    tested = load_valid(template, environment="test", cache_dir=cache)
    assert plain.template.steps[0].timeout_seconds != 7
    assert tested.template.steps[0].timeout_seconds == 7
    assert load_valid(template, environment="test", cache_dir=cache) == tested
    assert len(list(cache.glob("*.json"))) == 2


def test_other_checking_code_is_another_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = _write(tmp_path / "t.yaml", VALID)
    cache = tmp_path / "cache"
    load_valid(template, cache_dir=cache)
    monkeypatch.setattr(validated_cache, "code_fingerprint", lambda: "an edited rule")
    load_valid(template, cache_dir=cache)
    assert len(list(cache.glob("*.json"))) == 2


def test_other_registered_schemas_are_another_key(tmp_path: Path) -> None:
    template = _write(tmp_path / "t.yaml", VALID)
    cache = tmp_path / "cache"
    load_valid(template, cache_dir=cache)
    uri = "https://schemas.example/cache-key.json"
    register_schema(uri, {"type": "object"})
    try:
        load_valid(template, cache_dir=cache)
    finally:
        unregister_schema(uri)
    assert len(list(cache.glob("*.json"))) == 2


def test_a_folder_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    template = _write(tmp_path / "t.yaml", VALID)
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    _same(load_valid(template, cache_dir=blocked / "cache"), template)


def test_the_newest_entries_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validated_cache, "MAX_ENTRIES", 3)
    cache = tmp_path / "cache"
    for index in range(5):
        template = _write(tmp_path / f"t{index}.yaml", {**VALID, "version": f"1.0.{index}"})
        load_valid(template, cache_dir=cache)
        for entry in cache.glob("*.json"):  # older writes look older whatever the clock's grain
            stat = entry.stat()
            os.utime(entry, (stat.st_atime - 10, stat.st_mtime - 10))
    kept = {
        json.loads(e.read_text(encoding="utf-8"))["template"]["version"]
        for e in cache.glob("*.json")
    }
    assert kept == {"1.0.2", "1.0.3", "1.0.4"}


def test_without_a_folder_nothing_is_stored(tmp_path: Path) -> None:
    template = _write(tmp_path / "t.yaml", VALID)
    _same(load_valid(template), template)
    assert list(tmp_path.iterdir()) == [template]


@pytest.mark.corpus
def test_every_corpus_template_loads_from_its_entry_as_it_loads_fresh(
    corpus_root: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    checked = 0
    for path in corpus_files(corpus_root):
        environments = [None, *declared_environments(read_document(path).data)]
        for environment in environments:
            try:
                fresh = load_valid(path, environment=environment, cache_dir=cache)  # a miss
            except TemplateLoadError:
                continue  # the corpus's error-testing templates
            stored = load_valid(path, environment=environment, cache_dir=cache)
            assert stored.content_hash == fresh.content_hash
            assert stored.template == fresh.template
            assert stored.template.model_dump(by_alias=True) == fresh.template.model_dump(
                by_alias=True
            )
            checked += 1
    assert checked >= 100
