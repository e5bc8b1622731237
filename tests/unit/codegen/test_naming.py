"""Python names from template and step names."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.codegen.naming import (
    input_model_name,
    pascal_case,
    result_model_name,
    snake_base,
    snake_case,
    unique,
    words,
)


@pytest.mark.parametrize(
    ("name", "snake", "pascal"),
    [
        ("order_intake", "order_intake", "OrderIntake"),
        ("order-intake", "order_intake", "OrderIntake"),
        ("Order Intake", "order_intake", "OrderIntake"),
        ("validateOrder", "validate_order", "ValidateOrder"),
        ("ValidateOrder", "validate_order", "ValidateOrder"),
        ("HTTPResponseCode", "http_response_code", "HTTPResponseCode"),
        ("getHTTP2Response", "get_http2_response", "GetHTTP2Response"),
        ("step2", "step2", "Step2"),
        ("3d-print", "n_3d_print", "N3dPrint"),
        ("2fa", "n_2fa", "N2fa"),
        ("class", "class_", "Class"),
        ("import", "import_", "Import"),
        ("None", "none", "None_"),
        ("true", "true", "True_"),
        ("match", "match_", "Match"),
        ("type", "type_", "Type"),
        ("naïve café", "naive_cafe", "NaiveCafe"),
        ("Ñandú", "nandu", "Nandu"),
        ("数据", "数据", "数据"),
        ("x²", "x2", "X2"),
        ("a--b__c", "a_b_c", "ABC"),
        ("", "unnamed", "Unnamed"),
        ("___", "unnamed", "Unnamed"),
        ("!!!", "unnamed", "Unnamed"),
    ],
)
def test_names(name: str, snake: str, pascal: str) -> None:
    assert snake_case(name) == snake
    assert pascal_case(name) == pascal


def test_words_split_on_separators_and_camel_case() -> None:
    assert words("fetchHTTPData-now_2") == ["fetch", "HTTP", "Data", "now", "2"]


def test_snake_base_keeps_keywords_for_suffixing() -> None:
    assert snake_base("class") == "class"
    assert snake_base("3d") == "n_3d"


def test_model_names() -> None:
    assert input_model_name("order_intake") == "OrderIntakeInput"
    assert result_model_name("validate-order") == "ValidateOrderResult"
    assert result_model_name("") == "UnnamedResult"


def test_unique_numbers_repeats_and_records_them() -> None:
    taken: set[str] = {"fetch"}
    assert unique("fetch", taken) == "fetch_2"
    assert unique("fetch", taken) == "fetch_3"
    assert unique("other", taken) == "other"
    assert taken == {"fetch", "fetch_2", "fetch_3", "other"}


@given(st.text(max_size=30))
def test_any_text_gives_identifiers(name: str) -> None:
    snake, pascal = snake_case(name), pascal_case(name)
    assert snake.isidentifier()
    assert pascal.isidentifier()
    assert not keyword.iskeyword(snake)
    assert not keyword.iskeyword(pascal)
    assert snake_case(name) == snake  # stable
