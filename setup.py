"""The one compiled part: an optional C filter for the DCT re-encode (jpegsal/codec/_filter.c).

Everything else is in pyproject.toml. ``optional=True``: where no C compiler is found the
build goes on without it and jpegsal uses the numpy version of the same filter (same bytes,
slower); ``jpegsal.codec.requantise.COMPILED`` says which one is in use.
"""

import sys

from setuptools import Extension, setup

# Contraction into fused multiply-adds would change the rounding (see the C file).
FLAGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]
# The libjpeg route splits large images between two POSIX threads (one thread on Windows).
THREADS = [] if sys.platform == "win32" else ["-pthread"]

setup(
    ext_modules=[
        Extension(
            "jpegsal.codec._filter",
            ["jpegsal/codec/_filter.c"],
            extra_compile_args=FLAGS,
            optional=True,
        ),
        # Needs libjpeg's headers (libjpeg-dev / libjpeg62-turbo-dev); optional too.
        Extension(
            "jpegsal.codec._transcode",
            [f"jpegsal/codec/{name}.c" for name in ("_transcode", "_huffman", "_blocks")],
            depends=["jpegsal/codec/_transcode.h"],
            libraries=["jpeg"],
            extra_compile_args=FLAGS + THREADS,
            extra_link_args=THREADS,
            optional=True,
        ),
    ]
)
