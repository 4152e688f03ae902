import re

from turing.exporting import csv_cell
from turing.tokens import new_token


def test_a_token_is_never_a_spreadsheet_formula_so_exports_keep_it_raw():
    # 2,000 draws: with URL-safe base64 about 1 in 32 began with '-' and was quoted in truth.csv.
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(re.fullmatch(r"[0-9a-f]{24}", token) for token in tokens)
    assert all(csv_cell(token) == token for token in tokens)
