# The libjpeg coefficient re-encode (_transcode.c), built by setup.py where libjpeg's headers
# are found. huffman: 0 standard tables, 1 libjpeg's optimize_coding, 2 tables from own counts.
def transcode(
    data: bytes, ratio: bytes, progressive: bool, strict: bool, markers: bool, huffman: int
) -> bytes: ...
def symbol_counts(
    data: bytes, ratio: bytes, progressive: bool, strict: bool, markers: bool, huffman: int
) -> bytes: ...
