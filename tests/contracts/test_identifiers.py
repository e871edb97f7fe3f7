"""GB 32100 credit codes and GB 11643 resident ID numbers, with the examples of domain.md §7."""

import pytest

from contracts.identifiers import credit_code_check_character, is_valid_credit_code, resident_id_problem


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110108551385082Q", "91110000600037341L", "91310110666007217T"])
def test_valid_credit_codes_pass_their_check_character(code):
    assert is_valid_credit_code(code)


@pytest.mark.parametrize("code", ["91350100M000100Y4A", "91310115MA1H8R7C6D"])
def test_credit_codes_with_a_wrong_check_character_are_refused(code):
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y433", "91350100I000100Y43", "91350100m000100Y43"])
def test_credit_codes_of_wrong_length_or_alphabet_are_refused(code):
    assert not is_valid_credit_code(code)


def test_check_value_thirty_maps_to_y_not_zero():
    # Find a 17-character body whose check value is 30 and make sure it maps to 'Y' (a bug seen in public code).
    for n in range(10_000):
        body = f"91110000{n:09d}"
        if credit_code_check_character(body) == "Y":
            assert is_valid_credit_code(body + "Y") and not is_valid_credit_code(body + "0")
            return
    pytest.fail("no body with check value 30 found")


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_valid_resident_ids(number):
    assert resident_id_problem(number) is None


def test_resident_id_with_an_impossible_date_is_refused_for_the_date():
    assert resident_id_problem("110101199002300014") == "birth_date"


def test_resident_id_with_a_wrong_check_character_is_refused():
    assert resident_id_problem("110105194912310021") == "check_character"


@pytest.mark.parametrize("number", ["11010519491231002", "1101051949123100XX", "A1010519491231002X"])
def test_resident_id_of_wrong_shape_is_refused(number):
    assert resident_id_problem(number) == "format"
