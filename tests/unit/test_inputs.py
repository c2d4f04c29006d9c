"""graph/resolvers/inputs.py: ids, text, titles and descriptions checked before the database."""

from __future__ import annotations

import uuid

import pytest

from graph.errors import BadUserInput
from graph.resolvers.inputs import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    MAX_USER_ID,
    check_text,
    clean_description,
    clean_title,
    parse_user_id,
    parse_uuid,
)


def refused(call: object, *args: object, **kwargs: object) -> BadUserInput:
    assert callable(call)
    with pytest.raises(BadUserInput) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_uuid_comes_back_in_canonical_form() -> None:
    value = uuid.uuid4()
    assert parse_uuid(str(value).upper(), field="id") == str(value)
    assert parse_uuid(value.hex, field="id") == str(value)
    assert parse_uuid("{" + str(value) + "}", field="id") == str(value)


@pytest.mark.parametrize("value", ["", "1", "not-a-uuid", "g" * 32, "123e4567-e89b-12d3-a456"])
def test_anything_but_a_uuid_is_bad_user_input_naming_the_field(value: str) -> None:
    error = refused(parse_uuid, value, field="input.projectId")
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "input.projectId"}
    assert "`input.projectId` is not a valid id" in str(error)


@pytest.mark.parametrize("value", [None, 12, ["x"]])
def test_a_uuid_of_the_wrong_type_is_refused_not_raised(value: object) -> None:
    assert refused(parse_uuid, value, field="id").extensions["field"] == "id"


def test_check_text_keeps_ordinary_unicode() -> None:
    assert check_text("naïve café 漢字 🙂", field="title") == "naïve café 漢字 🙂"


def test_check_text_refuses_nul_which_postgresql_cannot_store() -> None:
    error = refused(check_text, "a\x00b", field="input.title")
    assert error.extensions["field"] == "input.title"
    assert "NUL" in str(error)


def test_check_text_refuses_a_lone_surrogate() -> None:
    error = refused(check_text, "a\ud800b", field="input.description")
    assert "not valid Unicode" in str(error)
    assert error.extensions["field"] == "input.description"


def test_a_user_id_is_one_to_255_characters() -> None:
    assert parse_user_id("u", field="userId") == "u"
    assert parse_user_id("x" * MAX_USER_ID, field="userId") == "x" * MAX_USER_ID
    assert refused(parse_user_id, "", field="userId").extensions["field"] == "userId"
    assert refused(parse_user_id, "x" * (MAX_USER_ID + 1), field="assigneeId").extensions == {
        "code": "BAD_USER_INPUT",
        "field": "assigneeId",
    }


def test_a_user_id_must_be_storable_text() -> None:
    assert "NUL" in str(refused(parse_user_id, "bob\x00", field="userId"))


def test_a_title_is_stripped_and_kept() -> None:
    assert clean_title("  Ship it \n", field="input.title") == "Ship it"


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_an_empty_title_is_refused(value: str) -> None:
    error = refused(clean_title, value, field="input.title")
    assert error.extensions["field"] == "input.title"
    assert f"1 to {MAX_TITLE} characters" in str(error)


def test_the_title_limit_counts_after_stripping() -> None:
    assert clean_title(" " + "t" * MAX_TITLE + " ", field="t") == "t" * MAX_TITLE
    refused(clean_title, "t" * (MAX_TITLE + 1), field="t")


def test_a_title_with_nul_is_refused() -> None:
    assert "NUL" in str(refused(clean_title, "a\x00", field="input.title"))


def test_a_missing_description_stays_missing() -> None:
    assert clean_description(None, field="input.description") is None


def test_a_description_is_kept_as_written_up_to_its_limit() -> None:
    text = "  spaced\n" + "d" * (MAX_DESCRIPTION - 9)
    assert len(text) == MAX_DESCRIPTION
    assert clean_description(text, field="d") == text  # not stripped
    assert clean_description("", field="d") == ""


def test_a_description_past_its_limit_is_refused() -> None:
    error = refused(clean_description, "d" * (MAX_DESCRIPTION + 1), field="input.description")
    assert error.extensions["field"] == "input.description"
    assert str(MAX_DESCRIPTION) in str(error)


def test_a_description_with_a_lone_surrogate_is_refused() -> None:
    refused(clean_description, "\udfff", field="input.description")
