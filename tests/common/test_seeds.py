"""common.seeds: one grammar (ASCII digits, a-b ranges, commas) for every tool that reads seeds."""

import pytest

from common.seeds import MAX_SEED, SEED_LIMIT, SeedError, parse_seed_range, parse_seeds


def test_ranges_and_lists_parse_and_stay_ranges():
    assert list(parse_seeds("0-3,7")) == [0, 1, 2, 3, 7]
    assert list(parse_seeds(" 5 , 1-2 ,")) == [5, 1, 2]
    seeds = parse_seeds("0-99999999,5")
    assert len(seeds) == 100_000_001 and seeds[-1] == 5 and str(seeds) == "0-99999999,5"
    assert parse_seed_range("7") == (7, 7) and parse_seed_range("0-4999") == (0, 4999)


@pytest.mark.parametrize("text", ["\u0663", "1_0", "+5", "\u00b2", "1-\u0663", "0x10", "1e3", "-5", " "])
def test_anything_but_ascii_digits_is_refused_with_a_one_line_reason(text):
    """int() takes '٣' (Arabic-Indic three), '1_0' and '+5': the GAN's grammar used to accept them."""
    from generator.gan.seeds import parse_seeds as gan_parse_seeds

    for parse in (parse_seeds, parse_seed_range, gan_parse_seeds):
        with pytest.raises(SeedError) as caught:
            parse(text)
        assert "\n" not in str(caught.value)
        assert "not a seed" in str(caught.value) or "names no seed" in str(caught.value)


def test_the_2_32_limit_and_the_direction_are_checked():
    assert SEED_LIMIT == 2**32 and parse_seed_range(f"{MAX_SEED}") == (MAX_SEED, MAX_SEED)
    with pytest.raises(SeedError, match="seeds go from 0 to 4294967295"):
        parse_seeds(f"0-{SEED_LIMIT}")
    with pytest.raises(SeedError, match="not a seed"):
        parse_seeds("9" * 5000)  # refused before int() reads 5,000 digits
    with pytest.raises(SeedError, match="'5-2' runs backwards"):
        parse_seeds("5-2")
    with pytest.raises(SeedError, match="not one range"):
        parse_seed_range("1-3,5")


def test_the_gan_package_reads_the_same_grammar():
    from generator.gan.seeds import parse_seeds as gan_parse_seeds

    assert gan_parse_seeds is parse_seeds
