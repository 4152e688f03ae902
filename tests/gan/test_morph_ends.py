"""A morph's ends: a seed in common.seeds' one grammar, else a projected .npz file."""

from __future__ import annotations

import numpy as np
import pytest

from common.seeds import MAX_SEED
from generator.gan.morph import is_seed, morph


@pytest.mark.parametrize(("source", "seed"), [
    ("42", True), (" 7 ", True), ("0", True), (str(MAX_SEED), True), (3, True), (np.int64(5), True),
    (str(MAX_SEED + 1), False),  # beyond numpy's RandomState: the grammar refuses it, as `generate` does
    (MAX_SEED + 1, False), (-1, False), (True, False),
    ("٣", False), ("²", False), ("1_0", False), ("+5", False), ("3-3", False), ("1,2", False), ("", False),
    ("proj/projected_w.npz", False), (None, False),
])
def test_a_morph_end_is_a_seed_only_in_the_one_seed_grammar(source, seed):
    assert is_seed(source) is seed


def test_an_end_that_is_neither_a_seed_nor_a_file_is_refused_naming_it(trained_run, tmp_path):
    with pytest.raises(ValueError, match=rf"^'{MAX_SEED + 1}' is neither a seed \(0 to {MAX_SEED}, digits 0-9\) "
                                         r"nor a projected \.npz file$"):
        morph(trained_run["checkpoint"], 3, str(MAX_SEED + 1), tmp_path / "m", frames=2, device="cpu")
    assert not (tmp_path / "m").exists()
