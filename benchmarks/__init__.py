"""jpegsal's benchmarks, run as modules: ``python -m benchmarks.<name> --help``.

* :mod:`.rate_accuracy`: bytes against classifier accuracy (the headline numbers);
* :mod:`.rate_quality`: bytes against PSNR/SSIM/MS-SSIM on Kodak;
* :mod:`.speed`: per-stage time and memory against Pillow (the one speed benchmark);
* :mod:`.parity_overhead`: the plain path against Pillow for every mode it writes,
  the one-shot API against a reused ``Encoder``, and ``preserve``'s network runs;
* :mod:`.saliency_quality`, :mod:`.int8`,
  :mod:`.blocks_paths`, :mod:`.mask_examples`: the model and method studies;
* :mod:`.machine_preset`: ``preset="machine"`` against the peers and its ablations;
* :mod:`.optimize`, :mod:`.reencode`, :mod:`.reduced_decode`: JPEG inputs (lossless
  re-coding, the DCT-domain path against decode -> encode, saliency from a reduced decode);
* :mod:`.plots`: PNGs from the result JSON.

Building blocks: :mod:`.contenders` (one codec class per contender, after CompressAI's
``Codec``), :mod:`.bd` (the BD bytes ratio), :mod:`.metrics`, :mod:`.common`.
"""
