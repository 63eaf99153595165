"""The science track (snippets/science.py): the sequences are what they say (the gene's
translation is the protein's start), codons refuse what is not a gene, and the page's claims
about tokens and context length hold for the rendered numbers."""

from __future__ import annotations

import pytest

from snippets.science import (
    AMINO_ACIDS,
    SPIKE_GENE_START,
    SPIKE_PROTEIN_START,
    codons,
    token_ends,
    translate,
)


def test_the_gene_translates_to_the_protein_s_start():
    assert len(SPIKE_GENE_START) == 123 and len(SPIKE_PROTEIN_START) == 120
    assert translate(SPIKE_GENE_START) == SPIKE_PROTEIN_START[:41]


def test_the_genetic_code_is_the_standard_one():
    assert len(AMINO_ACIDS) == 64 and AMINO_ACIDS.count("*") == 3
    assert translate("ATG") == "M" and translate("TAATAGTGA") == "***"
    assert translate("TGG") == "W" and translate("GGGCCCAAATTT") == "GPKF"
    assert len(set(AMINO_ACIDS) - {"*"}) == 20


@pytest.mark.parametrize(
    ("dna", "message"),
    [("ATGU", r"not a DNA base: \['U'\]"), ("ATGT", "4 bases is not a whole number of codons")],
)
def test_what_is_not_a_gene_is_refused_saying_why(dna, message):
    with pytest.raises(ValueError, match=message):
        codons(dna)


def test_english_bpe_ignores_the_reading_frame(gpt2_tokenizer, instruct_generator):
    """What the page says: more tokens than codons, fewer than half the edges on a codon
    boundary; fewer tokens than amino acids for the protein."""
    for tokenizer in (gpt2_tokenizer, instruct_generator.tokenizer):
        tokens = tokenizer.tokenize(SPIKE_GENE_START)
        assert "".join(tokens) == SPIKE_GENE_START  # no spaces: the tokens are the bases
        assert len(tokens) > len(codons(SPIKE_GENE_START))
        edges = token_ends(tokenizer, SPIKE_GENE_START)[:-1]
        assert sum(e % 3 == 0 for e in edges) < len(edges) / 2
        assert len(tokenizer.tokenize(SPIKE_PROTEIN_START)) < len(SPIKE_PROTEIN_START)


def test_the_context_table_says_what_the_page_says(gpt2_tokenizer, instruct_generator, capsys):
    from snippets.science import example_context_length

    example_context_length(gpt2_tokenizer, instruct_generator)
    rows = {line[:28].strip(): line[28:].split() for line in capsys.readouterr().out.splitlines()}
    assert rows["genome, one per codon"] == ["9,968", "no", "no"]
    assert rows["protein, one per amino acid"] == ["1,273", "no", "yes"]
    assert rows["protein, GPT-2 BPE"][1:] == ["yes", "yes"]
    assert rows["genome, GPT-2 BPE"][1:] == ["no", "no"]
    assert int(rows["genome, GPT-2 BPE"][0].replace(",", "")) > 9968
