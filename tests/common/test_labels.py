"""common.labels: one map and one key rule for every path a label comes in by."""

import pytest

from common.labels import CLASSES, class_index, label_key, normalise_label


@pytest.mark.parametrize("name, label", [
    ("malignantmelanoma", "melanoma"), ("Melanoma", "melanoma"), ("malignant_melanoma", "melanoma"),
    ("Melanoma_2019", "melanoma"), ("MELANOMA-2019", "melanoma"), ("melanoma 2", "melanoma"),
    ("melanocyticnevus", "nevus"), ("nevus", "nevus"), ("Naevus", "nevus"), ("Melanocytic_Nevus", "nevus"),
    ("melanocytic-naevus", "nevus"), ("nevus2", "nevus"),
    ("seborrheic", "seborrheic"), ("Seborrheic_Keratosis", "Seborrheic_Keratosis"),
    ("melanomainsitu", "melanomainsitu"),
])
def test_names_of_melanoma_and_nevus_normalise_and_others_keep_their_spelling(name, label):
    assert normalise_label(name) == label


def test_the_key_is_the_ascii_letters_lowercased():
    assert label_key("Melanoma_2019") == label_key("melanoma") == "melanoma"
    assert label_key("n\u00e6vus") == "nvus"  # not a spelling of nevus: stays as it is
    assert normalise_label("n\u00e6vus") == "n\u00e6vus"


def test_the_classifier_index_follows_the_same_rule():
    assert CLASSES == ("nevus", "melanoma")
    assert [class_index(n) for n in ("Melanoma_2019", "MalignantMelanoma", "melanoma")] == [1, 1, 1]
    assert [class_index(n) for n in ("nevus", "Naevus", "melanocytic_nevus", "Nevus-2")] == [0, 0, 0, 0]
    assert class_index("seborrheic_keratosis") is None
