"""Name keys: both tone placements and no-diacritic spellings meet."""

from __future__ import annotations

import unicodedata

import pytest

from inventory.names import is_nfc, keys, plain_key, tone_key, without_prefix


@pytest.mark.parametrize(("a", "b"), [("Hòa", "Hoà"), ("Thuỵ Lâm", "Thụy Lâm"), ("Khoé", "Khóe")])
def test_tone_placement_is_ignored(a: str, b: str) -> None:
    assert tone_key(a) == tone_key(b)


def test_tone_itself_still_counts() -> None:
    assert tone_key("Hòa") != tone_key("Hóa")
    assert plain_key("Hòa") == plain_key("Hóa") == "hoa"


def test_plain_key_reads_d_bar_as_d() -> None:
    assert plain_key("Đông Anh") == "dong anh"


def test_prefix_removed_with_or_without_diacritics() -> None:
    assert without_prefix("Huyện Ứng Hòa") == "Ứng Hòa"
    assert without_prefix("thi tran Van Dinh") == "Van Dinh"
    assert without_prefix("Xã") == "Xã"  # a bare prefix is a name, not an empty string


def test_keys_of_decomposed_input_match_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Ứng Hòa")
    assert not is_nfc(decomposed)
    assert keys(decomposed) == keys("Ứng Hòa")
