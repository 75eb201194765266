"""The interface's catalogues: every string in both languages, and library errors translated by pattern."""

from __future__ import annotations

import pytest

from kb.config import Settings
from kb.errors import KbError
from kb.messages import CLI, LABELS, Catalogue, language_for, translate_error
from kb.search import check_query
from kb.services.uploads import check_upload


def test_every_cli_string_is_in_both_languages_with_the_same_fields() -> None:
    assert CLI.problems() == []
    assert LABELS.problems() == []


def test_a_missing_translation_or_field_is_reported() -> None:
    broken = Catalogue({"a": ("Only English",), "b": ("{n} files", "文件"), "c": ("x", " ")})
    assert broken.problems() == [
        "a: needs one non-empty text for each of en, zh",
        "b: the languages use different fields [['n'], []]",
        "c: needs one non-empty text for each of en, zh",
    ]


@pytest.mark.parametrize(("setting", "locale", "expected"), [
    ("en", "zh-CN", "en"), ("zh", None, "zh"), ("auto", "zh-CN", "zh"), ("auto", "zh-TW", "zh"),
    ("auto", "en-GB", "en"), ("auto", None, "en"), ("auto", "", "en"),
])
def test_language_for(setting: str, locale: str | None, expected: str) -> None:
    assert language_for(setting, locale) == expected


def test_the_language_setting_is_checked() -> None:
    assert Settings().language == "auto"
    with pytest.raises(KbError, match="language 'fr' is not one of auto, en, zh"):
        Settings(language="fr")


def message(call) -> str:
    with pytest.raises(KbError) as caught:
        call()
    return str(caught.value)


def test_library_errors_a_user_meets_are_translated() -> None:
    settings = Settings(max_query_chars=10)
    assert translate_error("zh", message(lambda: check_query("  ", settings))) == "问题为空：请输入问题或要检索的词语"
    assert translate_error("zh", message(lambda: check_query("x" * 11, settings))).startswith(
        "问题有 11 个字符，超过 10 个字符的上限")
    assert translate_error("zh", message(lambda: check_upload("evil.exe", b"MZ", "other", 1))).startswith(
        "evil.exe：不接受 .exe 文件；请上传以下格式之一：.pdf")
    assert translate_error("zh", message(lambda: check_upload("big.txt", b"x" * 20_000, "other", 0.01))) == \
        "big.txt：0.0 MB 超过 0.01 MB 的上限；请拆分文件"
    assert translate_error("zh", message(lambda: check_upload("e.txt", b"", "other", 1))) == "e.txt：文件为空"


def test_an_unknown_error_stays_in_english_and_english_is_left_alone() -> None:
    assert translate_error("zh", "something new went wrong") == "something new went wrong"
    assert translate_error("en", "the query is empty: type a question or some words to search for").startswith(
        "the query is empty")
