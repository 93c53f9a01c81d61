"""Longest common subsequence, bit-parallel, with exactly rouge-score's choice of LCS.

rouge-score fills the (len(ref)+1) x (len(can)+1) dynamic-programming table
``t`` cell by cell in Python and, for summary-level ROUGE-L, reads one LCS out
of it backwards (``_backtrack_norec``): on a match it takes the diagonal,
otherwise it moves left if ``t[i][j-1] > t[i-1][j]`` and up if not. Which LCS
that picks matters: the union of the picked LCSs over the candidate sentences
is what summary-level ROUGE-L counts.

Here a table row is one Python integer (Allison & Dix 1986; Hyyrö 2004): bit
``j`` of ``Z[i]`` is set when ``t[i][j+1] = t[i][j] + 1``, so
``t[i][j] = popcount(Z[i] & (2**j - 1))``, and a row follows from the previous
one with four integer operations whatever the candidate's length:

    U = V & match[ref[i]];   V' = (V + U) | (V - U);   Z[i] = ~V'

where ``V`` starts all ones and ``match[w]`` has bit ``j`` set where
``can[j] == w``. The backtrack then makes rouge-score's moves, reading the two
table cells it compares off the rows.
"""

from typing import Dict, List, Sequence

Tokens = Sequence[str]


def match_masks(can: Tokens) -> Dict[str, int]:
    """``{token: bits}``: bit ``j`` is set where ``can[j] == token``."""
    masks: Dict[str, int] = {}
    for j, token in enumerate(can):
        masks[token] = masks.get(token, 0) | (1 << j)
    return masks


def lcs_length(ref: Tokens, can: Tokens, masks: Dict[str, int] = None) -> int:
    """The length of the longest common subsequence of ``ref`` and ``can``."""
    if masks is None:
        masks = match_masks(can)
    full = (1 << len(can)) - 1
    v = full
    for token in ref:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(can) - v.bit_count()


def lcs_indices(ref: Tokens, can: Tokens, masks: Dict[str, int] = None) -> List[int]:
    """The positions in ``ref`` of the LCS that rouge-score's ``lcs_ind(ref, can)`` returns, in order."""
    if masks is None:
        masks = match_masks(can)
    full = (1 << len(can)) - 1
    v = full
    rows = [0]  # rows[i] = Z[i], the table's row i as increment bits
    for token in ref:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
        rows.append(v ^ full)
    if not rows[-1]:
        return []
    picked = []
    i, j = len(ref), len(can)
    while i > 0 and j > 0:
        if ref[i - 1] == can[j - 1]:
            picked.append(i - 1)
            i -= 1
            j -= 1
            continue
        below = (1 << (j - 1)) - 1
        left = (rows[i] & below).bit_count()  # t[i][j-1]
        up = (rows[i - 1] & (below | (1 << (j - 1)))).bit_count()  # t[i-1][j]
        if left > up:
            j -= 1
        elif up:
            i -= 1
        else:  # t[i][j] == 0: no match is left above and to the left
            break
    picked.reverse()
    return picked
