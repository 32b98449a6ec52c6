# The compiled chroma fit (_chroma.c), built by setup.py where a C compiler is found.
# Arrays are C-contiguous: rgb and out uint8 (height, width, 3), matrix float32 (2, 4),
# weights float32 (8,). From 2 MP, two threads share the rows (threads=2).
import numpy as np

def fit(
    rgb: np.ndarray,
    out: np.ndarray,
    width: int,
    height: int,
    fv: int,
    fh: int,
    matrix: np.ndarray,
    weights: np.ndarray,
    threads: int = 2,
) -> None: ...
