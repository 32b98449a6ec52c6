"""The command line, called through main(argv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

import jpegsal
from jpegsal.cli import main
from jpegsal.codec import chroma
from jpegsal.codec.requantise import COMPILED, OPTIMIZED


@pytest.fixture
def inputs(tmp_path: Path, sample_paths: list[Path]) -> Path:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(sample_paths[0], src / "a.png")
    shutil.copy(sample_paths[1], src / "sub" / "b.png")
    return src


def test_single_file(inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a.jpg"
    assert main(["encode", str(inputs / "a.png"), "-o", str(out), "--quality", "60"]) == 0
    with Image.open(inputs / "a.png") as im:
        assert out.read_bytes() == pillow_jpeg(im, quality=60)
    stdout = capsys.readouterr().out
    assert "1 written, 0 failed" in stdout
    assert f"-> {out.stat().st_size} bytes" in stdout


def test_directory_flat_and_recursive(inputs: Path, tmp_path: Path) -> None:
    flat, deep = tmp_path / "flat", tmp_path / "deep"
    assert main(["encode", str(inputs), "--out-dir", str(flat), "-q"]) == 0
    assert sorted(p.relative_to(flat).as_posix() for p in flat.rglob("*.jpg")) == ["a.jpg"]
    assert main(["encode", str(inputs), "--out-dir", str(deep), "-r", "-q", "-j", "2"]) == 0
    found = sorted(p.relative_to(deep).as_posix() for p in deep.rglob("*.jpg"))
    assert found == ["a.jpg", "sub/b.jpg"]


def test_directory_scan_skips_unreadable_formats(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "pic.png")
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4")  # Pillow writes PDF but cannot read it
    (tmp_path / "notes.txt").write_text("x")
    out = tmp_path / "o"
    assert main(["encode", str(tmp_path), "--out-dir", str(out), "-q"]) == 0
    assert [p.name for p in out.iterdir()] == ["pic.jpg"]


def test_glob_input(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "g"
    assert main(["encode", str(inputs / "*.png"), "--out-dir", str(out), "-q"]) == 0
    assert [p.name for p in out.iterdir()] == ["a.jpg"]


def test_existing_output_is_not_overwritten(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.jpg"
    out.write_bytes(b"precious")
    assert main(["encode", str(inputs / "a.png"), "-o", str(out)]) == 1
    assert out.read_bytes() == b"precious"
    assert "output exists" in (err := capsys.readouterr().err)
    assert "(use --overwrite, or --skip-existing)" in err  # both ways out named
    assert main(["encode", str(inputs / "a.png"), "-o", str(out), "--overwrite", "-q"]) == 0
    assert_decodes(out.read_bytes(), Image.open(inputs / "a.png").size)


def test_input_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(pillow_jpeg(Image.new("RGB", (16, 16), "red"), quality=95))
    before = photo.read_bytes()
    code = main(["encode", str(photo), "--out-dir", str(tmp_path), "--overwrite"])
    assert code == 1
    assert photo.read_bytes() == before
    assert "is an input; refusing to overwrite an input" in capsys.readouterr().err


def test_failed_file_does_not_stop_the_batch(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (inputs / "notimage.png").write_bytes(b"plain text")
    out = tmp_path / "out"
    code = main(["encode", str(inputs), str(tmp_path / "missing.png"), "--out-dir", str(out)])
    assert code == 1
    assert (out / "a.jpg").exists()
    assert not (out / "broken.jpg").exists()
    err = capsys.readouterr()
    assert "broken.png: OSError: cannot decode image" in err.err
    assert "notimage.png: UnidentifiedImageError: cannot identify image file" in err.err
    assert "missing.png: no such file or directory" in err.err
    assert "1 written, 3 failed" in err.out
    assert "Traceback" not in err.err
    assert not [p for p in out.iterdir() if p.name.startswith(".jpegsal-")]


def test_two_inputs_with_one_output_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("x.png", "x.bmp"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    code = main(
        [
            "encode",
            str(tmp_path / "x.png"),
            str(tmp_path / "x.bmp"),
            "--out-dir",
            str(tmp_path / "o"),
        ]
    )
    assert code == 1
    assert "is also the output of" in capsys.readouterr().err


def test_alpha_input_needs_background(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.new("RGBA", (8, 8), (255, 0, 0, 128)).save(tmp_path / "t.png")
    assert main(["encode", str(tmp_path / "t.png"), "-o", str(tmp_path / "t.jpg")]) == 1
    assert "cannot write mode RGBA as JPEG" in capsys.readouterr().err
    args = ["encode", str(tmp_path / "t.png"), "-o", str(tmp_path / "t.jpg"), "-q"]
    assert main([*args, "--background", "white"]) == 0
    assert main([*args, "--background", "0,0,0", "--overwrite"]) == 0


def test_metadata_kept_by_default_and_strippable(tmp_path: Path, rgb: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    exif[0x010F] = "Camera maker"  # Make: private, dropped by --strip-metadata
    rgb.save(tmp_path / "o.jpg", exif=exif, icc_profile=b"fake-icc")
    assert main(["encode", str(tmp_path / "o.jpg"), "-o", str(tmp_path / "k.jpg"), "-q"]) == 0
    assert Image.open(tmp_path / "k.jpg").getexif()[0x0112] == 8
    assert (
        main(
            [
                "encode",
                str(tmp_path / "o.jpg"),
                "-o",
                str(tmp_path / "s.jpg"),
                "-q",
                "--strip-metadata",
            ]
        )
        == 0
    )
    stripped = Image.open(tmp_path / "s.jpg")
    # Everything goes but the orientation: the photo still displays upright.
    assert dict(stripped.getexif()) == {0x0112: 8}
    assert "icc_profile" not in stripped.info
    upright_src = tmp_path / "u.png"
    rgb.save(upright_src)  # no orientation to keep: no EXIF at all
    assert (
        main(["encode", str(upright_src), "-o", str(tmp_path / "u.jpg"), "-q", "--strip-metadata"])
        == 0
    )
    assert "exif" not in Image.open(tmp_path / "u.jpg").info


def test_encoding_options_reach_the_encoder(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.jpg"
    args = [
        "encode",
        str(inputs / "a.png"),
        "-o",
        str(out),
        "-q",
        "--progressive",
        "--optimize",
        "--subsampling",
        "4:4:4",
        "--quality",
        "web_high",
    ]
    assert main(args) == 0
    with Image.open(inputs / "a.png") as im:
        expected = jpegsal.encode(
            im, progressive=True, optimize=True, subsampling="4:4:4", quality="web_high"
        )
    assert out.read_bytes() == expected
    assert (
        main(
            [
                "encode",
                str(inputs / "a.png"),
                "-o",
                str(tmp_path / "t.jpg"),
                "-q",
                "--target-bytes",
                "9000",
            ]
        )
        == 0
    )
    assert (tmp_path / "t.jpg").stat().st_size <= 9000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["encode", "x.png", "y.png", "-o", "z.jpg"], "-o/--output takes exactly one input"),
        (
            ["encode", "x.png", "-o", "z.jpg", "--quality", "500"],
            "invalid quality '500': use 0..100",
        ),
        (["encode", "x.png", "-o", "z.jpg", "--subsampling", "4:1:0"], "subsampling must be"),
        (["encode", "x.png", "-o", "z.jpg", "-j", "0"], "--jobs must be at least 1"),
        (["encode", "x.png"], "one of the arguments -o/--output --out-dir is required"),
        (["encode", "x.png", "-o", "z", "--background", "nocolour"], "invalid colour"),
        (["frobnicate"], "invalid choice"),
        (["encode", "x.png", "-o", "z.jpg", "--model", "nope"], "unknown model 'nope'"),
        (["encode", "x.png", "-o", "z.jpg", "--method", "blur"], "invalid choice: 'blur'"),
    ],
)
def test_usage_errors_exit_2_without_traceback(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    from jpegsal.codec.requantise import BUILD

    assert main(["--version"]) == 0
    version = capsys.readouterr().out.strip()
    assert version == f"jpegsal {jpegsal.__version__} ({BUILD})"
    assert ("C filter" in version) == COMPILED
    assert ("optimised Huffman, 4:4:4 fitted" in version) == OPTIMIZED
    assert ("C chroma fit" in version) == chroma.COMPILED
    assert main(["encode", "--help"]) == 0
    assert "--out-dir" in capsys.readouterr().out


def test_python_dash_m(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jpegsal", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().startswith(f"jpegsal {jpegsal.__version__} (DCT path: ")


def test_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out-dir", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "jpegsal method=None" in stdout
    pictures = sorted(p.name for p in out.glob("*_compare.png"))
    assert len(pictures) == 3
    assert "preset=machine" in stdout
    # One tile each: original, 3 maps, Pillow, and every encoding but method=None (the
    # same bytes as Pillow's, so not shown twice); below them two rows of zoomed crops.
    from jpegsal.demo import _variants

    picture = Image.open(out / pictures[0])
    assert picture.width == 256 * (1 + 3 + 1 + len(_variants()) - 1)
    with Image.open(jpegsal.demo.sample_images()[0]) as first:
        assert picture.height > 2 * round(first.height * 256 / first.width)
    for jpg in out.glob("*.jpg"):
        assert_decodes(jpg.read_bytes(), Image.open(jpg).size)
    # method=None rows equal Pillow's bytes
    for stem in ("kodim04", "kodim20", "kodim23"):
        assert (out / f"{stem}_pillow.jpg").read_bytes() == (
            out / f"{stem}_jpegsal_method-None.jpg"
        ).read_bytes()
    assert os.path.getsize(out / "kodim23_compare.png") > 0


def test_saliency_command(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps"
    assert main(["saliency", str(inputs), "--out-dir", str(out), "-r", "-q"]) == 0
    heat = Image.open(out / "a.png")
    with Image.open(inputs / "a.png") as src:
        assert heat.size == src.size
    assert heat.mode == "L"
    assert (out / "sub" / "b.png").exists()
    over = tmp_path / "over"
    assert (
        main(
            [
                "saliency",
                str(inputs / "a.png"),
                "--out-dir",
                str(over),
                "--overlay",
                "--model",
                "msroi",
                "-q",
            ]
        )
        == 0
    )
    assert Image.open(over / "a.png").mode == "RGB"
    # Existing outputs are protected here too.
    assert main(["saliency", str(inputs / "a.png"), "--out-dir", str(over), "-q"]) == 1


def test_saliency_command_bad_model(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["saliency", str(inputs), "--out-dir", str(tmp_path / "m"), "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_models_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cam ")
    assert "msroi" in out
    assert "top-1 83.23%" in out


def test_dash_is_refused_not_written_as_a_file(
    inputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["encode", str(inputs / "a.png"), "-o", "-"]) == 2
    assert main(["encode", "-", "-o", "x.jpg"]) == 2
    assert "'-' (standard input/output) is not supported" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()
    assert not (tmp_path / "x.jpg").exists()


def test_model_without_method_warns(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.jpg"
    assert main(["encode", str(inputs / "a.png"), "-o", str(out), "--model", "cam"]) == 0
    assert "--model cam does nothing without --method or --preserve" in capsys.readouterr().err
    with Image.open(inputs / "a.png") as im:
        assert out.read_bytes() == pillow_jpeg(im)  # what was written is the plain JPEG


def test_runtime_errors_are_one_line_and_rc_2(
    inputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jpegsal.commands

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("CUDA driver version is insufficient")  # as onnxruntime-gpu says

    monkeypatch.setattr(jpegsal.commands, "Encoder", broken)
    assert main(["encode", str(inputs / "a.png"), "-o", str(tmp_path / "a.jpg")]) == 2
    err = capsys.readouterr().err
    assert err == "jpegsal: error: CUDA driver version is insufficient\n"


def test_skip_existing_resumes_a_batch(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["encode", str(inputs), "-r", "--out-dir", str(out)]
    assert main([*args, "--quiet"]) == 0
    first = (out / "a.jpg").read_bytes()
    (out / "sub" / "b.jpg").unlink()  # as if the first run had stopped before it
    capsys.readouterr()
    assert main([*args, "--skip-existing"]) == 0
    summary = capsys.readouterr().out
    assert "1 written, 1 skipped (output exists), 0 failed" in summary
    assert (out / "a.jpg").read_bytes() == first
    assert (out / "sub" / "b.jpg").is_file()
    assert main([*args, "--skip-existing", "--overwrite"]) == 2
    assert "pass either --overwrite or --skip-existing, not both" in capsys.readouterr().err


def test_output_folder_inside_the_inputs_is_not_scanned(inputs: Path) -> None:
    out = inputs / "small"
    args = ["encode", str(inputs), "-r", "--out-dir", str(out), "--quiet"]
    assert main(args) == 0
    assert main([*args, "--skip-existing"]) == 0  # a second run must not re-encode small/
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert written == ["a.jpg", "sub/b.jpg"]


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_the_batch_and_reports(
    tmp_path: Path, sample_paths: list[Path], capsys: pytest.CaptureFixture[str], sig: str
) -> None:
    import _thread
    import signal
    import threading

    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        shutil.copy(sample_paths[0], src / f"{i}.png")
    real = jpegsal.Encoder.encode_with_info
    calls = threading.Event()

    def encode(self: jpegsal.Encoder, image: object, **kw: object) -> jpegsal.EncodeResult:
        if not calls.is_set():  # the first image: as if the user pressed Ctrl-C now
            calls.set()
            if sig == "SIGINT":
                _thread.interrupt_main()
            else:  # a service manager stopping the batch
                os.kill(os.getpid(), signal.SIGTERM)
        return real(self, image, **kw)  # type: ignore[arg-type]

    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jpegsal.Encoder, "encode_with_info", encode)
        rc = main(["encode", str(src), "--out-dir", str(out), "--jobs", "1"])
    assert rc == 130
    captured = capsys.readouterr()
    assert "not run (interrupted)" in captured.out
    assert "interrupted" in captured.err
    written = list(out.glob("*.jpg")) if out.exists() else []
    assert 1 <= len(written) < 6  # the image in flight finished; the queue was dropped
    assert not list(out.glob(".jpegsal-*")) if out.exists() else True


def test_cli_option_checks(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = str(inputs / "a.png")
    # -o with another format's suffix would write JPEG bytes under a .png name.
    assert main(["encode", src, "-o", str(tmp_path / "x.png")]) == 2
    assert "this command writes JPEG, not PNG" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    assert main(["encode", src, "-o", str(tmp_path / "q.jpg"), "--quality", "-1"]) == 2
    out = tmp_path / "s.jpg"
    assert main(["encode", src, "-o", str(out), "--subsampling", "0"]) == 0  # as the API takes
    with Image.open(inputs / "a.png") as im:
        assert out.read_bytes() == pillow_jpeg(im, subsampling=0)
    capsys.readouterr()
    assert main(["demo", "--out-dir", str(tmp_path / "demo"), "--quality", "101"]) == 2
    assert "quality must be" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()  # refused before anything was written


def test_glob_of_folders_only_is_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    assert main(["encode", str(tmp_path / "d*"), "--out-dir", str(tmp_path / "o")]) == 1
    assert "matches only folders" in capsys.readouterr().err


def test_max_pixels_limits_inputs(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.jpg"
    rc = main(["encode", str(inputs / "a.png"), "-o", str(out), "--max-pixels", "1000"])
    assert rc == 1  # a per-file failure: the input is over the limit
    assert "a.png" in capsys.readouterr().err
    assert not out.exists()


def test_lines_compare_with_a_plain_jpeg_at_the_same_quality(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.jpg"
    args = ["encode", str(inputs / "a.png"), "-o", str(out), "--preset", "machine"]
    assert main([*args, "--quality", "70", "--fixed-quality"]) == 0
    with Image.open(inputs / "a.png") as im:
        plain = len(pillow_jpeg(im, quality=70))  # what the user would have written
    mine = out.stat().st_size
    stdout = capsys.readouterr().out
    assert f"{mine / plain:.3f}x plain" in stdout
    assert "  q70" in stdout
    assert f"{mine / plain:.3f}x a plain JPEG at the same quality, {plain} bytes" in stdout
    # A plain encode is its own reference; --no-compare drops the comparison.
    assert main(["encode", str(inputs / "a.png"), "-o", str(tmp_path / "p.jpg")]) == 0
    assert "; 1.000x a plain JPEG" in capsys.readouterr().out
    assert main([*args[:3], str(tmp_path / "n.jpg"), *args[4:], "--no-compare"]) == 0
    assert "plain" not in capsys.readouterr().out


def test_json_lines_one_object_per_file(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    (inputs / "bad.png").write_bytes(b"plain text")
    out = tmp_path / "out"
    args = ["encode", str(inputs), "--out-dir", str(out), "-r", "--json", "--preset", "machine"]
    assert main([*args, "--preserve", "0.01"]) == 1
    captured = capsys.readouterr()
    rows = {Path(r["input"]).name: r for r in map(json.loads, captured.out.splitlines())}
    assert sorted(rows) == ["a.png", "b.png", "bad.png"]  # stdout holds only the objects
    assert rows["bad.png"]["status"] == "failed"
    assert "cannot identify image file" in rows["bad.png"]["error"]
    a = rows["a.png"]
    assert a["status"] == "written"
    assert a["bytes_out"] == (out / "a.jpg").stat().st_size
    assert 20 <= a["quality"] <= 100
    assert a["kl"] <= 0.01
    assert a["met"] is True
    assert a["plain_bytes"] > 0
    assert "2 written, 1 failed" in captured.err  # the totals go to stderr
    assert main([*args, "--skip-existing"]) == 1
    skipped = [json.loads(r) for r in capsys.readouterr().out.splitlines()]
    assert sorted(r["status"] for r in skipped) == ["failed", "skipped", "skipped"]


def test_unmet_preserve_writes_quality_100_or_fails_on_request(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = str(inputs / "a.png")
    args = ["encode", src, "--preset", "machine", "--preserve", "1e-12"]
    assert main([*args, "-o", str(tmp_path / "best.jpg")]) == 0
    stdout = capsys.readouterr().out
    assert "q100" in stdout
    assert "preserve budget not met: quality 100 kept" in stdout
    assert "1 written, 1 written at quality 100 with the preserve budget unmet" in stdout
    assert main([*args, "-o", str(tmp_path / "err.jpg"), "--if-unmet", "error"]) == 1
    assert "cannot be met" in capsys.readouterr().err
    assert not (tmp_path / "err.jpg").exists()
    floor = ["encode", src, "--preset", "machine", "--preserve", "1e6", "--min-quality", "55"]
    assert main([*floor, "-o", str(tmp_path / "floor.jpg"), "--json"]) == 0
    assert '"quality": 55' in capsys.readouterr().out
    assert main(["encode", src, "-o", str(tmp_path / "x.jpg"), "--min-quality", "5"]) == 2
    assert "min_quality is a floor for rate control" in capsys.readouterr().err


def test_saliency_output_file_upright_overlay_and_background(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # -o names one PNG file, as encode's -o names one JPEG; a folder there is refused.
    with Image.open(inputs / "a.png") as im:
        rgb = im.convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers turn it 90 degrees clockwise
    rgb.save(tmp_path / "turned.jpg", exif=exif.tobytes())
    heat = tmp_path / "heat.png"
    assert main(["saliency", str(tmp_path / "turned.jpg"), "-o", str(heat), "-q"]) == 0
    w, h = rgb.size
    assert Image.open(heat).size == (h, w)  # upright, as a viewer shows the photo
    assert main(["saliency", str(inputs / "a.png"), "-o", str(tmp_path), "-q"]) == 2
    assert "is a folder; -o names a file, use --out-dir" in capsys.readouterr().err
    assert main(["saliency", str(inputs / "a.png"), "-o", str(tmp_path / "m.jpg")]) == 2
    assert "writes PNG, not JPEG; name the output .png" in capsys.readouterr().err
    rgba = Image.new("RGBA", (40, 30), (200, 10, 10, 0))
    rgba.save(tmp_path / "alpha.png")
    flat = tmp_path / "flat.png"
    assert main(["saliency", str(tmp_path / "alpha.png"), "-o", str(flat), "-q"]) == 1
    assert "pass --background" in capsys.readouterr().err
    args = ["saliency", str(tmp_path / "alpha.png"), "-o", str(flat), "--background", "white"]
    assert main([*args, "-q"]) == 0


def test_cli_messages_use_flags_not_api_keywords() -> None:
    from jpegsal.report import cli_words

    assert cli_words("strength needs a method; pass method=...") == (
        "strength needs a method; pass --method ..."
    )
    assert cli_words("pass if_unmet='best' to keep quality 100") == (
        "pass --if-unmet best to keep quality 100"
    )
    assert cli_words("preset='machine' runs no classifier") == "--preset machine runs no classifier"


def test_input_warnings_are_one_line_per_file(
    tmp_path: Path, rgb: Image.Image, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = [rgb.convert("P"), rgb.rotate(90).convert("P")]
    for name in ("a.gif", "b.gif"):
        frames[0].save(tmp_path / name, save_all=True, append_images=frames[1:])
    out = tmp_path / "out"
    assert main(["encode", str(tmp_path / "*.gif"), "--out-dir", str(out), "-q", "-j", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    # Where libturbojpeg is missing, one more line says damaged JPEGs go unchecked.
    err = [line for line in err if "libturbojpeg" not in line]
    # Each file is named, every time (Python would show one warning per code line once).
    assert sorted(line.split(": ")[2] for line in err) == [
        str(tmp_path / "a.gif"),
        str(tmp_path / "b.gif"),
    ]
    assert all(line.startswith("jpegsal: warning: ") for line in err)
    assert all("2 frames; only the first is encoded" in line for line in err)


def test_damaged_jpeg_fails_the_file_unless_allowed(
    tmp_path: Path, rgb: Image.Image, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_inputs import _damaged_jpeg, needs_turbojpeg

    if needs_turbojpeg.args[0]:
        pytest.skip(needs_turbojpeg.kwargs["reason"])
    (tmp_path / "bad.jpg").write_bytes(_damaged_jpeg(rgb))
    out = tmp_path / "out.jpg"
    assert main(["encode", str(tmp_path / "bad.jpg"), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "bad.jpg: CorruptDataError: corrupt JPEG data in" in err
    assert "pass --allow-corrupt to encode it anyway" in err
    assert not out.exists()
    assert main(["encode", str(tmp_path / "bad.jpg"), "-o", str(out), "-q", "--allow-corrupt"]) == 0
    assert "jpegsal: warning: " in capsys.readouterr().err
    assert out.exists()


def test_salient_windows_match_a_brute_force_search() -> None:
    import numpy as np

    from jpegsal.demo_picture import salient_windows

    rng = np.random.default_rng(3)
    sal = rng.random((20, 28)).astype(np.float32)
    most, least = salient_windows(sal, 0.25)
    wh, ww = 5, 7
    means = {
        (x, y, x + ww, y + wh): sal[y : y + wh, x : x + ww].mean()
        for y in range(20 - wh + 1)
        for x in range(28 - ww + 1)
    }
    assert most == max(means, key=lambda k: means[k])
    assert least == min(means, key=lambda k: means[k])


def test_preset_machine_takes_jpeg_inputs_through_the_dct_path(
    tmp_path: Path, rgb: Image.Image, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from jpegsal.codec import turbojpeg

    if not turbojpeg.available():
        pytest.skip("no TurboJPEG 2.0+ library (libturbojpeg) on this machine")
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(pillow_jpeg(rgb, quality=92))  # 4:2:0: the DCT path
    (src / "b.jpg").write_bytes(pillow_jpeg(rgb.convert("CMYK"), quality=92))  # the pixel path
    rgb.save(src / "c.png")  # not a JPEG: the pixel path, no note
    args = ["encode", str(src), "--preset", "machine", "--quality", "40", "--json"]
    args.append("--fixed-quality")  # quality 40 for every file (the per-image choice: below)
    assert main([*args, "--progressive", "--out-dir", str(tmp_path / "o")]) == 0

    def rows() -> dict[str, dict[str, object]]:
        lines = capsys.readouterr().out.splitlines()
        return {Path(r["input"]).name: r for r in map(json.loads, lines)}

    got = rows()
    assert got["a.jpg"]["note"] == "DCT path"
    written = (tmp_path / "o" / "a.jpg").read_bytes()
    assert written == jpegsal.reencode(src / "a.jpg", quality=40, progressive=True)
    assert got["b.jpg"]["note"] == "pixel path: four components (CMYK/YCCK)"
    assert "note" not in got["c.png"]
    reference = pillow_jpeg(Image.open(src / "a.jpg"), quality=40, progressive=True)
    assert got["a.jpg"]["plain_bytes"] == len(reference)
    # Baseline output: the DCT path too where libjpeg's route was built (optimised Huffman
    # tables); the pixel path, which says why, where not.
    assert main([*args, "--out-dir", str(tmp_path / "b")]) == 0
    note = str(rows()["a.jpg"]["note"])
    assert note == "DCT path" if OPTIMIZED else "cannot optimise Huffman tables" in note
    if OPTIMIZED:
        baseline = jpegsal.reencode(src / "a.jpg", quality=40, keep_metadata=False)
        assert (tmp_path / "b" / "a.jpg").read_bytes() == baseline
    # --no-coefficient-path: every file decoded to pixels, as for a PIL image.
    no = [*args, "--progressive", "--no-coefficient-path", "--out-dir", str(tmp_path / "p")]
    assert main(no) == 0
    assert "note" not in rows()["a.jpg"]
    expected = jpegsal.encode(
        Image.open(src / "a.jpg"),
        preset="machine",
        quality=40,
        progressive=True,
        keep_metadata=True,
        allocate=False,
    )
    assert (tmp_path / "p" / "a.jpg").read_bytes() == expected
    # Without --fixed-quality each file's quality is chosen (jpegsal.rateslope), as the
    # API chooses it.
    assert main([*args[:-1], "--out-dir", str(tmp_path / "c")]) == 0
    row = rows()["a.jpg"]
    chosen = jpegsal.Encoder(preset="machine", keep_metadata=True).encode_with_info(
        src / "a.jpg", quality=40
    )
    assert row["quality"] == chosen.quality
    assert (tmp_path / "c" / "a.jpg").read_bytes() == chosen.data


def test_a_file_listing_paths_keeps_their_relative_paths(
    tmp_path: Path, rgb: Image.Image, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a" / "deep").mkdir(parents=True)
    rgb.save(tmp_path / "a" / "one.png")
    rgb.save(tmp_path / "a" / "deep" / "two.png")
    listing = tmp_path / "list.txt"
    listing.write_text("# photos to shrink\na/one.png\n\na/deep/two.png\na/gone.png\n")
    out = tmp_path / "out"
    code = main(["encode", f"@{listing}", "--out-dir", str(out), "--quality", "60"])
    assert code == 1  # the missing entry is reported as a failure; the others are written
    assert (out / "one.jpg").is_file()
    assert (out / "deep" / "two.jpg").is_file()
    assert "1 listed files not found" in capsys.readouterr().err
    assert main(["encode", f"@{tmp_path / 'nope.txt'}", "--out-dir", str(out)]) == 1
    assert "cannot read the list of paths" in capsys.readouterr().err
    listing.write_text("# nothing here\na/gone.png\n")
    assert main(["encode", f"@{listing}", "--out-dir", str(out)]) == 1
    assert "the list names no existing file" in capsys.readouterr().err


def test_engine_flags_are_checked(
    tmp_path: Path, rgb: Image.Image, capsys: pytest.CaptureFixture[str]
) -> None:
    rgb.save(tmp_path / "a.png")
    out = str(tmp_path / "out")
    cases = [
        (["--address", "auto"], "--address needs --engine ray"),
        (["--concurrency", "1,2"], "--concurrency needs --engine ray"),
        (["--engine", "ray", "--jobs", "2"], "--jobs is the local engine's"),
        (["--engine", "ray", "--skip-existing"], "--skip-existing is the local engine's"),
    ]
    for flags, message in cases:
        assert main(["encode", str(tmp_path / "a.png"), "--out-dir", out, *flags]) == 2
        assert message in capsys.readouterr().err
    assert main(["encode", str(tmp_path / "a.png"), "-o", out + ".jpg", "--engine", "ray"]) == 2
    assert "pass --out-dir" in capsys.readouterr().err
    bad = ["encode", str(tmp_path / "a.png"), "--out-dir", out, "--concurrency", "3,1"]
    assert main(bad) == 2
    assert "invalid --concurrency '3,1'" in capsys.readouterr().err
    assert not Path(out).exists()
