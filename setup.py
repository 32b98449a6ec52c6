"""The compiled parts: three optional C extensions (jpegsal/codec/).

Everything else is in pyproject.toml. ``optional=True``: where no C compiler is found the
build goes on without them. Without ``_filter`` jpegsal uses the numpy version of the same
filter, without ``_chroma`` the numpy version of the preset's chroma fit (same bytes, slower
for both); without ``_transcode`` (it also needs libjpeg's headers)
baseline output keeps TurboJPEG's standard Huffman tables, and JPEG files that are not
4:2:0 take the pixel path (``_resample.c``, part of it, makes their chroma 4:2:0).
``jpegsal.codec.requantise.COMPILED``, ``.OPTIMIZED`` and ``jpegsal.codec.chroma.COMPILED``
say which were built (``jpegsal --version`` too).
"""

import sys

from setuptools import Extension, setup

# Contraction into fused multiply-adds would change the rounding (see _requant.h, _chroma.c).
FLAGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]
# The libjpeg route and the chroma fit split large images between two POSIX threads (one
# thread on Windows).
THREADS = [] if sys.platform == "win32" else ["-pthread"]

setup(
    ext_modules=[
        Extension(
            "jpegsal.codec._filter",
            ["jpegsal/codec/_filter.c"],
            depends=["jpegsal/codec/_requant.h"],
            extra_compile_args=FLAGS,
            optional=True,
        ),
        Extension(
            "jpegsal.codec._chroma",
            ["jpegsal/codec/_chroma.c"],
            depends=["jpegsal/codec/_fit.h"],
            extra_compile_args=FLAGS + THREADS,
            extra_link_args=THREADS,
            optional=True,
        ),
        # Needs libjpeg's headers (libjpeg-dev / libjpeg62-turbo-dev); optional too.
        Extension(
            "jpegsal.codec._transcode",
            [
                f"jpegsal/codec/{n}.c"
                for n in ("_transcode", "_huffman", "_blocks", "_resample", "_fit")
            ],
            depends=[
                "jpegsal/codec/_transcode.h",
                "jpegsal/codec/_requant.h",
                "jpegsal/codec/_fit.h",
            ],
            libraries=["jpeg"]
            if sys.platform == "win32"
            else ["jpeg", "m"],  # m: _resample.c, _fit.c
            extra_compile_args=FLAGS + THREADS,
            extra_link_args=THREADS,
            optional=True,
        ),
    ]
)
