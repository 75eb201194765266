"""A StoreFilter becomes a Milvus filter expression that quotes every value (no server needed)."""

from __future__ import annotations

import pytest

from kb.stores import StoreFilter
from kb.stores.milvus import expression, quote


def test_quote_escapes_what_would_end_the_literal() -> None:
    assert quote('x" or doc_id != "') == '"x\\" or doc_id != \\""'
    assert quote("a\\b\nc") == '"a\\\\b\\nc"'
    assert quote("汉字") == '"汉字"'
    with pytest.raises(ValueError, match="holds a control character"):
        quote("a\x00b")


def test_expression_of_each_filter_field() -> None:
    assert expression(None) == expression(StoreFilter()) == ""
    assert expression(StoreFilter(types=("minutes", "regulation"), statuses=("in_force",))) == (
        'doc_type in ["minutes", "regulation"] and status in ["in_force"]')
    assert expression(StoreFilter(doc_ids=("a",), exclude_doc_ids=("b",))) == 'doc_id in ["a"] and doc_id not in ["b"]'
    assert expression(StoreFilter(date_from="2020-01-01", date_to="2020-12-31")) == (
        'date != "" and date >= "2020-01-01" and date <= "2020-12-31"')
    assert expression(StoreFilter(max_level=2, groups=("hr", "it"))) == (
        'level <= 2 and (array_length(groups) == 0 or array_contains_any(groups, ["hr", "it"]))')
    assert expression(StoreFilter(groups=())) == "array_length(groups) == 0"
