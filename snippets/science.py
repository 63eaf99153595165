"""Scientific sequences as tokens: a gene read codon by codon, a protein residue by
residue, and what a tokenizer trained on English text makes of them.

A gene is read three bases at a time: each *codon* stands for one amino acid (or for
"stop"), by the standard genetic code. GenSLM (Zvyagin et al. 2022) takes codons as its
tokens, so its tokens are the units the cell reads. Protein language models such as
ESM-2 (Lin et al. 2023) take one amino acid per token. A byte-pair encoding learned
from English (GPT-2's, SmolLM2's) cuts the same letters into whatever chunks were
frequent in its training text, blind to the reading frame.

The sequences: the start of the SARS-CoV-2 spike gene (S) of the reference genome
NC_045512.2, and the start of the spike protein it encodes (UniProt P0DTC2). The
translation of the one equals the other (a test checks it).

References: NCBI, genetic code table 1 (the standard code); NCBI RefSeq NC_045512.2
(29,903 bases); UniProt P0DTC2 (spike glycoprotein, 1,273 residues); Zvyagin et al.
2022 (GenSLM); Lin et al. 2023 (ESM-2, ESMFold).
"""

from __future__ import annotations

# --8<-- [start:setup]
# The first 123 bases of the SARS-CoV-2 spike gene (reference genome NC_045512.2)
SPIKE_GENE_START = (
    "ATGTTTGTTTTTCTTGTTTTATTGCCACTAGTCTCTAGTCAGTGTGTT"
    "AATCTTACAACCAGAACTCAATTACCCCCTGCATACACTAATTCTTTCACACGTGGTGTTTATTACCCTGACAAA"
)
# The first 120 amino acids of the spike protein (UniProt P0DTC2), one letter each
SPIKE_PROTEIN_START = (
    "MFVFLVLLPLVSSQCVNLTTRTQLPPAYTNSFTRGVYYPDKVFRSSVLHSTQDLFLPFFS"
    "NVTWFHAIHVSGTNGTKRFDNPVLPFNDGVYFASTEKSNIIRGWIFGTTLDSKTQSLLIV"
)
GENOME_BASES = 29_903  # the whole SARS-CoV-2 genome (NC_045512.2)
SPIKE_RESIDUES = 1_273  # the whole spike protein (P0DTC2)
# The standard genetic code (NCBI table 1): codons in the order TTT, TTC, TTA, TTG,
# TCT, ..., GGG (bases in the order T, C, A, G), "*" for stop
BASES = "TCAG"
AMINO_ACIDS = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
# --8<-- [end:setup]


# --8<-- [start:codons]
def codons(dna: str) -> list[str]:
    """``dna`` cut into codons, three bases each, in its reading frame.

    Raises:
        ValueError: a letter other than A, C, G, T, or a length that is not a
            multiple of 3 (a partial codon), naming what is wrong.
    """
    wrong = sorted(set(dna) - set(BASES))
    if wrong:
        raise ValueError(f"not a DNA base: {wrong}; a gene is written in A, C, G, T")
    if len(dna) % 3:
        raise ValueError(
            f"{len(dna)} bases is not a whole number of codons: "
            f"{len(dna) % 3} base(s) left over"
        )
    return [dna[i : i + 3] for i in range(0, len(dna), 3)]


def translate(dna: str) -> str:
    """The protein ``dna`` codes for: one amino acid letter per codon."""
    table = {
        a + b + c: AMINO_ACIDS[16 * i + 4 * j + k]
        for i, a in enumerate(BASES)
        for j, b in enumerate(BASES)
        for k, c in enumerate(BASES)
    }  # 64 codons -> 20 amino acids and stop
    return "".join(table[codon] for codon in codons(dna))


def token_ends(tokenizer, text: str) -> list[int]:
    """Where each of the tokenizer's tokens of ``text`` ends, in characters."""
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return [end for _, end in encoding["offset_mapping"]]


def example_codons(gpt2_tokenizer, instruct_generator):
    """A gene's start as GenSLM reads it, one codon per token, and as two tokenizers
    of English text cut it: more tokens, and most of their edges inside a codon."""
    dna = SPIKE_GENE_START
    triplets = codons(dna)
    print(f"{len(dna)} bases of the spike gene: {dna[:30]}...")
    print(f"codons ({len(triplets)} tokens): {' '.join(triplets[:10])} ...")
    protein = translate(dna)
    print(
        f"translated: {protein[:20]}... equals the protein's start: "
        f"{SPIKE_PROTEIN_START.startswith(protein)}"
    )
    tokenizers = {"GPT-2": gpt2_tokenizer, "SmolLM2": instruct_generator.tokenizer}
    for name, tokenizer in tokenizers.items():
        tokens = tokenizer.tokenize(dna)
        ends = token_ends(tokenizer, dna)[:-1]  # the edges between tokens
        between = sum(end % 3 == 0 for end in ends)  # edges on a codon boundary
        print(
            f"{name} BPE ({len(tokens)} tokens, {len(dna) / len(tokens):.2f} bases "
            f"each): {' '.join(tokens[:10])} ..."
        )
        print(f"  {between} of its {len(ends)} token edges fall between two codons")


# --8<-- [end:codons]


# --8<-- [start:protein]
def example_protein(gpt2_tokenizer, instruct_generator):
    """A protein's start, one token per amino acid as protein language models read
    it, and as the tokenizers of English text cut it into pairs and single letters."""
    protein = SPIKE_PROTEIN_START
    print(f"{len(protein)} amino acids: {protein[:30]}...")
    print(f"one token per amino acid: {len(protein)} tokens")
    tokenizers = {"GPT-2": gpt2_tokenizer, "SmolLM2": instruct_generator.tokenizer}
    for name, tokenizer in tokenizers.items():
        tokens = tokenizer.tokenize(protein)
        print(
            f"{name} BPE: {len(tokens)} tokens, {len(protein) / len(tokens):.2f} "
            f"amino acids each: {' '.join(tokens[:12])} ..."
        )


# --8<-- [end:protein]


# --8<-- [start:context]
def example_context_length(gpt2_tokenizer, instruct_generator):
    """How many tokens a whole genome and a whole protein take, per tokenization, and
    whether they fit the positions of GPT-2 (1024) and SmolLM2 (8192). The BPE
    counts are estimates: the whole sequences at the rate of the starts above."""
    import math
    smollm2 = instruct_generator.tokenizer
    limits = {  # positions each model reads
        "GPT-2": gpt2_tokenizer.model_max_length,
        "SmolLM2": smollm2.model_max_length,
    }
    def bpe_rate(tokenizer, start):  # letters per token on the start
        return len(start) / len(tokenizer.tokenize(start))
    rows = [("genome, one per codon", math.ceil(GENOME_BASES / 3))]
    for name, tokenizer in {"GPT-2": gpt2_tokenizer, "SmolLM2": smollm2}.items():
        rate = bpe_rate(tokenizer, SPIKE_GENE_START)
        rows.append((f"genome, {name} BPE", round(GENOME_BASES / rate)))
    rows.append(("protein, one per amino acid", SPIKE_RESIDUES))
    for name, tokenizer in {"GPT-2": gpt2_tokenizer, "SmolLM2": smollm2}.items():
        rate = bpe_rate(tokenizer, SPIKE_PROTEIN_START)
        rows.append((f"protein, {name} BPE", round(SPIKE_RESIDUES / rate)))
    print(f"positions: GPT-2 {limits['GPT-2']}, SmolLM2 {limits['SmolLM2']}")
    print(f"{'sequence, tokens':28} {'tokens':>7}  fits GPT-2  fits SmolLM2")
    for name, n in rows:
        fits = [("yes" if n <= limit else "no") for limit in limits.values()]
        print(f"{name:28} {n:>7,}  {fits[0]:>10}  {fits[1]:>12}")


# --8<-- [end:context]
