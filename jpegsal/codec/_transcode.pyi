# The libjpeg coefficient re-encode (_transcode.c), built by setup.py where libjpeg's headers
# are found. huffman: 0 standard tables, 1 libjpeg's optimize_coding, 2 tables from own counts,
# 3 the same with chroma coded on luma's DC and/or AC table where that is fewer bytes;
# threads: 1 or 2 for the requantise-and-count loop of images of 16,384 blocks or more;
# resample: 4:4:4 / 4:2:2 / 4:4:0 chroma written as 4:2:0 (ValueError for other layouts),
# 1 by libjpeg's box mean in the DCT domain, 2 fitted to the decoder's upsampler (_fit.c).
def transcode(
    data: bytes,
    ratio: bytes,
    progressive: bool,
    strict: bool,
    markers: bool,
    huffman: int,
    threads: int = 2,
    resample: int = 0,
) -> bytes: ...

symbol_counts = transcode  # the same arguments: the symbol counts, int64 [2][4][257]
