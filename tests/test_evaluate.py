"""``jpegsal evaluate`` / ``jpegsal.evaluate``: label sources, classifier formats, the
unlabelled mode, bad inputs, resuming by contender, and agreement with the benchmark.

Most tests judge with a tiny ONNX classifier built here (mean colour -> 3 classes), so
they take a second; the shipped Lite0 and the MobileNet judge are used where the test is
about them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import jpegsal
from jpegsal.bench import codecs
from jpegsal.bench.classifiers import OnnxClassifier, load_classifier
from jpegsal.bench.data import Item, list_items, resolve_labels, split_of
from jpegsal.cli import main
from jpegsal.demo import sample_images

onnx = pytest.importorskip("onnx", reason="the tiny test classifiers are built with onnx")
from onnx import TensorProto, helper  # noqa: E402

MOBILENET = Path(__file__).resolve().parents[2] / "shared/models/mobilenet_v1_0.5_160_quant.tflite"


def _tiny(path: Path, *, side: int | str = 16, meta: bool = True, out_rank: int = 2) -> Path:
    """A 3-class 'classifier': the mean of each channel of the (1, 3, S, S) input."""
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, side, side])
    shape = [1, 3] if out_rank == 2 else [1, 3, 1, 1]
    out = helper.make_tensor_value_info("scores", TensorProto.FLOAT, shape)
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["pooled"])]
    if out_rank == 2:
        nodes.append(helper.make_node("Flatten", ["pooled"], ["scores"]))
    else:
        nodes.append(helper.make_node("Identity", ["pooled"], ["scores"]))
    graph = helper.make_graph(nodes, "tiny", [inp], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    if meta:
        record = {"mean": 128, "std": 32, "input_size": 16}
        prop = model.metadata_props.add()
        prop.key, prop.value = "jpegsal", json.dumps(record)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 160x120 crops of the bundled samples, labelled by their dominant channel."""
    root = tmp_path_factory.mktemp("photos")
    images = [Image.open(p).convert("RGB") for p in sample_images()]
    rows = ["path,label"]
    for i in range(6):
        im = images[i % 3].crop((20 * i, 10 * i, 20 * i + 160, 10 * i + 120))
        name = f"p{i}.png"
        im.save(root / name)
        rows.append(f"{name},{int(np.asarray(im).reshape(-1, 3).mean(0).argmax())}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny(tmp_path_factory.mktemp("clf") / "tiny.onnx")


def test_every_label_source(photos: Path, tmp_path: Path) -> None:
    csv_items = list_items(photos, photos / "labels.csv")
    assert [i.path.name for i in csv_items] == [f"p{i}.png" for i in range(6)]
    tsv = tmp_path / "labels.tsv"
    tsv.write_text("\n".join(f"{photos}/p{i}.png\t{i % 3}" for i in range(6)) + "\n")
    assert [i.label for i in list_items(photos, tsv)] == [0, 1, 2, 0, 1, 2]
    folder = tmp_path / "classes"  # ImageFolder, named classes
    for i, name in enumerate(["dog", "cat", "dog"]):
        (folder / name).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(folder / name / f"{i}.png")
    items = list_items(folder)
    assert [i.label for i in items] == ["cat", "dog", "dog"]
    assert resolve_labels(items, 3, ["bird", "cat", "dog"]) == [1, 2, 2]
    listed = tmp_path / "listed"  # dataset.txt (imagenet-val-1300's layout)
    (listed / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(listed / "images" / "a.JPEG", "JPEG")
    (listed / "dataset.txt").write_text("./data/a.JPEG, 7\n")
    assert [(i.path.name, i.label) for i in list_items(listed)] == [("a.JPEG", 7)]
    bare = tmp_path / "bare"
    bare.mkdir()
    Image.new("RGB", (8, 8)).save(bare / "x.png")
    assert [i.label for i in list_items(bare)] == [None]


def test_a_label_the_classifier_lacks_names_its_row() -> None:
    with pytest.raises(ValueError, match=r"labels.csv:4: label 5 is outside .* 3 classes"):
        resolve_labels(
            [Item(Path("a"), 1, "labels.csv:3"), Item(Path("b"), 5, "labels.csv:4")], 3, None
        )
    with pytest.raises(ValueError, match=r"x/1.png: label 'cow' .*--class-names"):
        resolve_labels([Item(Path("a"), "cow", "x/1.png")], 3, None)
    with pytest.raises(ValueError, match=r"with --label-offset 1"):
        resolve_labels([Item(Path("a"), 2, "r")], 3, None, offset=1)


def test_a_bad_labels_row_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "l.csv"
    bad.write_text("a.png,1,extra\n")
    with pytest.raises(ValueError, match=r"l.csv:1: expected 'path,label'"):
        list_items(tmp_path, bad)


def test_onnx_classifier_needs_what_the_file_does_not_say(tmp_path: Path) -> None:
    free = _tiny(tmp_path / "free.onnx", side="s", meta=False)
    with pytest.raises(ValueError, match="input size is free; pass --input-size"):
        OnnxClassifier(free, mean="128", std="32")
    with pytest.raises(ValueError, match="normalisation is unknown; pass --mean and --std"):
        OnnxClassifier(free, input_size=16)
    ok = OnnxClassifier(free, input_size=16, mean="128", std="32,32,32")
    assert (ok.fixed, ok.size, ok.classes) == (False, 16, 3)
    cube = _tiny(tmp_path / "cube.onnx", out_rank=4)
    with pytest.raises(ValueError, match=r"shape \[1, 3, 1, 1\], not a score vector"):
        OnnxClassifier(cube)
    with pytest.raises(ValueError, match="1 or 3 values"):
        OnnxClassifier(free, input_size=16, mean="1,2", std="3")


def test_the_shipped_model_exported_as_a_plain_classifier(tmp_path: Path) -> None:
    from jpegsal.bench.export import export_classifier

    path = export_classifier("cam", tmp_path / "lite0.onnx")
    plain = load_classifier(path)  # everything from its metadata
    graph = onnx.load(str(path))
    assert [o.name for o in graph.graph.output] == ["logits"]
    shipped = load_classifier("cam")
    image = np.asarray(Image.open(sample_images()[0]).convert("RGB"))
    for crop in (False, True):
        assert np.array_equal(plain.probs([image], crop=crop), shipped.probs([image], crop=crop))
    with pytest.raises(ValueError, match="not a score vector"):
        load_classifier("cam", output="cam")  # the saliency map is not a score vector


def test_labelled_run_writes_table_json_and_plot(photos: Path, tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = jpegsal.evaluate(
        photos,
        tiny,
        labels=photos / "labels.csv",
        contenders=["preset=machine", "cam+guided"],
        qualities=(20, 50, 90),
        crop=True,
        out=out,
        progress=False,
    )
    r = json.loads((out / "result.json").read_text())
    assert r == result.result
    assert (r["images"], r["labelled"], r["classifier"]["classes"]) == (6, True, 3)
    rows = r["curves"]["tiny"]["pillow"]
    assert [p["quality"] for p in rows] == [20, 50, 90]
    assert {"top1", "top5", "agree1", "kl", "top1_crop", "kl_crop"} <= set(rows[0])
    assert rows[-1]["bytes"] > rows[0]["bytes"]
    assert set(r["summary"]) == {"top1", "agree1", "top1_crop", "agree1_crop"}
    assert set(r["summary"]["top1"]) == {"preset=machine", "cam+guided"}
    for scores in r["summary"].values():  # each ratio has its interval over resampled images
        for entry in scores.values():
            ci = entry["ci95_pillow_q20_q90"]
            assert ci is None or ci[0] <= ci[1]
    table = (out / "table.md").read_text()
    assert "| cam+guided |" in table
    assert "| pillow | 1 (reference)" in table
    pytest.importorskip("matplotlib")
    assert Image.open(out / "rate_accuracy.png").size[0] > 300


def test_unlabelled_run_measures_agreement_and_kl(photos: Path, tiny: Path, tmp_path: Path) -> None:
    result = jpegsal.evaluate(
        photos,
        tiny,
        contenders=["mozjpeg"] if _has("jpeglib") else [],
        qualities=(10, 90),
        out=tmp_path,
        progress=False,
    )
    assert result.result["labelled"] is False
    assert set(result.summary) == {"agree1", "kl"}
    rows = result.result["curves"]["tiny"]["pillow"]
    assert "top1" not in rows[0]
    assert rows[1]["kl"] <= rows[0]["kl"]  # quality 90 is closer to the original than 10


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_resume_skips_finished_contenders_and_redoes_stale_ones(
    photos: Path, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = {"contenders": ["preset=machine"], "qualities": (30, 80), "out": tmp_path}
    first = jpegsal.evaluate(photos, tiny, progress=False, **args)
    calls = {"pillow": 0}
    original = codecs.PillowCodec.encode

    def counted(self: codecs.PillowCodec, *a: object, **k: object) -> bytes:
        calls["pillow"] += 1
        return original(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(codecs.PillowCodec, "encode", counted)
    again = jpegsal.evaluate(photos, tiny, progress=False, **args)
    assert calls["pillow"] == 0  # every contender came from its file
    assert again.result["curves"] == first.result["curves"]
    stale = {**args, "qualities": (30, 70)}
    jpegsal.evaluate(photos, tiny, progress=False, **stale)
    assert calls["pillow"] == 6 * 2  # other qualities: measured again


def test_a_stopped_run_resumes_with_the_next_contender(
    photos: Path, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop(*a: object, **k: object) -> bytes:
        raise KeyboardInterrupt

    args = {"contenders": ["preset=machine"], "qualities": (30, 80), "out": tmp_path}
    with monkeypatch.context() as m:
        m.setattr(codecs.PresetCodec, "encode", stop)
        with pytest.raises(KeyboardInterrupt):
            jpegsal.evaluate(photos, tiny, progress=False, **args)
    assert sorted(p.name for p in (tmp_path / "contenders").iterdir()) == ["pillow.json"]
    monkeypatch.setattr(codecs.PillowCodec, "encode", stop)  # pillow must not run again
    done = jpegsal.evaluate(photos, tiny, progress=False, **args)
    assert set(done.result["curves"]["tiny"]) == {"pillow", "preset=machine"}


def test_cli_lists_unreadable_images_and_goes_on(
    photos: Path, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for p in sorted(photos.glob("*.png"))[:3]:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    argv = ["evaluate", str(folder), "--classifier", str(tiny), "--contenders", "--quiet"]
    code = main([*argv, "--qualities", "40", "90", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.png" in captured.err
    assert "| pillow |" in captured.out
    assert json.loads((out / "result.json").read_text())["images"] == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--contenders", "cam+nothing@x"], "strength 'x' is not a number"),
        (["--contenders", "webp"], "unknown contender 'webp'"),
        (["--limit", "0"], "--limit must be 1 or more"),
        (["--labels", "missing.csv"], "--labels 'missing.csv': no such file"),
    ],
)
def test_cli_usage_errors(
    extra: list[str],
    message: str,
    photos: Path,
    tiny: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["evaluate", str(photos), "--classifier", str(tiny), "--out", str(tmp_path / "o")]
    assert main([*argv, "--quiet", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "result.json").exists()


def test_the_figures_are_the_benchmark_figures(photos: Path, tmp_path: Path) -> None:
    # benchmarks/rate_accuracy.py and jpegsal evaluate on the same images, labels and
    # contenders: the same curves (Lite0 judging, both protocols) and the same ratios.
    from benchmarks.rate_accuracy import RunSpec, run

    data = tmp_path / "set"
    (data / "images").mkdir(parents=True)
    lines = []
    for row in (photos / "labels.csv").read_text().splitlines()[1:]:
        name, label = row.split(",")
        (data / "images" / name).write_bytes((photos / name).read_bytes())
        lines.append(f"./data/{name}, {label}")
    (data / "dataset.txt").write_text("\n".join(lines) + "\n")
    spec = RunSpec(
        dataset=data,
        evaluators=("lite0",),
        crop_evaluators=("lite0",),
        qualities=(20, 60, 90),
        methods=("guided",),
        codecs=("preset=machine",),
    )
    bench = run(spec)
    ours = jpegsal.evaluate(
        data,
        "cam",
        contenders=["preset=machine", "cam+guided"],
        qualities=(20, 60, 90),
        crop=True,
        out=tmp_path / "ev",
        progress=False,
    ).result
    for c in ("pillow", "preset=machine", "cam+guided"):
        assert ours["curves"]["cam"][c] == bench["curves"]["lite0"][c]
    for key in ("top1", "agree1", "top1_crop"):
        for c in ("preset=machine", "cam+guided"):
            assert ours["summary"][key][c] == bench["summary"]["lite0"][key][c]


@pytest.mark.skipif(not MOBILENET.is_file(), reason="the MobileNet judge needs ../shared/models")
def test_a_tflite_classifier(photos: Path, tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert", reason="TFLite needs the bench extra")
    clf = load_classifier(MOBILENET, label_offset=1)
    assert (clf.classes, clf.size, clf.fixed) == (1000, 160, True)
    result = jpegsal.evaluate(
        photos,
        MOBILENET,
        label_offset=1,
        contenders=[],
        qualities=(30, 90),
        out=tmp_path,
        progress=False,
    )
    assert result.result["classifier"]["classes"] == 1000
    labels = tmp_path / "l.csv"
    labels.write_text(f"{photos}/p0.png,1000\n")
    with pytest.raises(ValueError, match="outside the classifier's 1000 classes"):
        jpegsal.evaluate(
            photos,
            MOBILENET,
            labels=labels,
            label_offset=1,
            contenders=[],
            out=tmp_path / "x",
            progress=False,
        )


def _tiny_nhwc(path: Path) -> Path:
    """The tiny classifier with a channels-last (1, 16, 16, 3) input."""
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 16, 3])
    out = helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [1, 2])
    node = helper.make_node("ReduceMean", ["x", "axes"], ["scores"], keepdims=0)
    graph = helper.make_graph([node], "tiny_nhwc", [inp], [out], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, str(path))
    return path


def test_channels_last_onnx_gives_the_channels_first_scores(tiny: Path, tmp_path: Path) -> None:
    nhwc = OnnxClassifier(_tiny_nhwc(tmp_path / "nhwc.onnx"), mean="128", std="32")
    nchw = OnnxClassifier(tiny)
    assert (nhwc.nchw, nchw.nchw) == (False, True)
    image = np.asarray(Image.open(sample_images()[1]).convert("RGB"))
    assert np.allclose(nhwc.probs([image]), nchw.probs([image]), atol=1e-6)


def test_more_label_layouts(tmp_path: Path) -> None:
    numbered = tmp_path / "numbered"  # ImageFolder with class indices as folder names
    for k in (0, 2):
        (numbered / str(k)).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(numbered / str(k) / "a.png")
    assert [i.label for i in list_items(numbered)] == [0, 2]
    named = tmp_path / "named"  # <synset>_<words>.JPEG beside synset_words.txt
    named.mkdir()
    (named / "synset_words.txt").write_text("n02 cat\nn01 dog\n")
    Image.new("RGB", (8, 8)).save(named / "n02_cat.JPEG", "JPEG")
    assert [i.label for i in list_items(named)] == [1]  # sorted synsets: n01, n02


def test_a_missing_extra_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0" * 16)
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    code = main(["evaluate", str(tmp_path), "--classifier", str(model), "--quiet"])
    assert code == 2
    assert "pip install 'jpegsal[bench]'" in capsys.readouterr().err


def test_without_matplotlib_the_run_says_there_is_no_plot(
    photos: Path,
    tiny: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from jpegsal.bench import evaluation

    monkeypatch.setattr(evaluation, "_has", lambda module: module != "matplotlib")
    argv = ["evaluate", str(photos), "--classifier", str(tiny), "--contenders", "--quiet"]
    assert main([*argv, "--qualities", "50", "90", "--out", str(tmp_path)]) == 0
    assert "no plot: pip install 'jpegsal[bench]'" in capsys.readouterr().out
    assert not (tmp_path / "rate_accuracy.png").exists()


def test_cli_ctrl_c_says_how_to_resume(
    photos: Path,
    tiny: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def stop(*a: object, **k: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(codecs.PresetCodec, "encode", stop)
    argv = ["evaluate", str(photos), "--classifier", str(tiny), "--contenders", "preset=machine"]
    assert main([*argv, "--quiet", "--qualities", "50", "--out", str(tmp_path)]) == 130
    assert "the same command resumes" in capsys.readouterr().err
    assert (tmp_path / "contenders" / "pillow.json").is_file()


def test_the_table_marks_curves_that_share_no_range() -> None:
    from jpegsal.bench.evaluation import EvaluateResult

    summary = {"top1": {"x": {"ratio_overlap": None, "ratio_pillow_q20_q90": 0.9}}}
    result = EvaluateResult(
        {"summary": summary, "ms_per_encode": {"pillow": 1.0, "x": 2.0}}, Path()
    )
    assert "| x | - / 0.9 | 2.0 |" in result.table()


def test_options_that_do_not_apply_are_refused(photos: Path, tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['meen'\]"):
        jpegsal.evaluate(photos, tiny, meen="127", out=tmp_path, progress=False)
    fake = tmp_path / "m.tflite"
    fake.write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match="--input-size is for ONNX classifiers"):
        load_classifier(fake, input_size=224)


def _two_outputs(path: Path) -> Path:
    """A graph with two score-like outputs and none named logits."""
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3]) for n in ("a", "b")]
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["p"]),
        helper.make_node("Flatten", ["p"], ["a"]),
        helper.make_node("Flatten", ["p"], ["b"]),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "two", [inp], outs), opset_imports=[helper.make_opsetid("", 18)]
    )
    model.ir_version = 9
    onnx.save(model, str(path))
    return path


def test_classifier_errors_name_what_to_pass(tiny: Path, tmp_path: Path) -> None:
    two = _two_outputs(tmp_path / "two.onnx")
    with pytest.raises(ValueError, match=r"which output is the scores\? pass --output NAME"):
        OnnxClassifier(two, mean="128", std="32")
    assert OnnxClassifier(two, mean="128", std="32", output="b").output == "b"
    with pytest.raises(ValueError, match="label_offset 2 leaves no classes of 3 outputs"):
        load_classifier(tiny, label_offset=2)
    with pytest.raises(ValueError, match=r"not an \.onnx or \.tflite file, nor a shipped model"):
        load_classifier("resnet")
    with pytest.raises(FileNotFoundError, match="classifier file not found"):
        load_classifier(tmp_path / "missing.onnx")
    fake = tmp_path / "m.tflite"
    fake.write_bytes(b"\0")
    with pytest.raises(ValueError, match="--output is for ONNX classifiers"):
        load_classifier(fake, output="scores")


def test_data_errors(tiny: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no images found"):
        jpegsal.evaluate(empty, tiny, out=tmp_path / "o", progress=False)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="no image could be read"):
        jpegsal.evaluate(broken, tiny, contenders=[], out=tmp_path / "o", progress=False)
    with pytest.raises(NotADirectoryError, match="is not a folder of images"):
        list_items(tmp_path / "nowhere")
    blank = tmp_path / "blank.csv"
    blank.write_text("path,label\n")
    with pytest.raises(ValueError, match="no 'path,label' rows"):
        list_items(tmp_path, blank)


def test_export_refuses_an_unknown_model(tmp_path: Path) -> None:
    from jpegsal.bench.export import export_classifier

    with pytest.raises(ValueError, match="unknown model 'resnet'; shipped: "):
        export_classifier("resnet", tmp_path / "x.onnx")


def test_the_resize_can_skip_the_low_pass(tiny: Path) -> None:
    clf = OnnxClassifier(tiny)
    board = (np.indices((75, 75)).sum(0) % 2 * 255).astype(np.uint8)  # a 1-pixel checkerboard
    image = np.repeat(board[:, :, None], 3, axis=2)
    default = clf.resized(image)  # the protocol's own resize
    clf.resize = "area"
    area = clf.resized(image)
    clf.resize = "linear"
    linear = clf.resized(image)
    assert area.shape == linear.shape == default.shape
    assert np.ptp(area[2:-2, 2:-2]) < 40  # low-passed: the checkerboard averages out
    assert np.ptp(linear[2:-2, 2:-2]) > 100  # sampled: it aliases through


def test_split_of_names_the_splits() -> None:
    items = list(range(12))
    assert split_of(items, "all") == items
    assert sorted(split_of(items, "tune") + split_of(items, "report")) == items
    with pytest.raises(ValueError, match="split must be 'all', 'tune' or 'report', got 'held'"):
        split_of(items, "held")


def test_the_file_contender_encodes_jpeg_files_as_jpegsal_encode_does(tmp_path: Path) -> None:
    from jpegsal.bench.sweep import load_rgb, run_sweep

    photo = Image.open(sample_images()[0]).convert("RGB").resize((240, 180))
    photo.save(tmp_path / "a.jpg", quality=92)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned: the file is not what the classifier sees
    photo.save(tmp_path / "turned.jpg", quality=92, exif=exif.tobytes())
    photo.save(tmp_path / "b.png")
    exif[0x0112] = 0  # not an orientation: exif_transpose leaves the file as it is
    photo.save(tmp_path / "zero.jpg", quality=92, exif=exif.tobytes())
    assert load_rgb(tmp_path / "zero.jpg").info["upright_file"]
    file_codec, pixels = (
        codecs.parse_codec("preset=machine:file"),
        codecs.parse_codec("preset=machine"),
    )
    assert codecs.parse_codec("preset=machine:file,side=160").classifier_side == 160
    with pytest.raises(ValueError, match="side=N \\(pixels\\), fixed, file"):
        codecs.parse_codec("preset=machine:files")
    assert [load_rgb(tmp_path / n).info["upright_file"] for n in ("a.jpg", "turned.jpg")] == [
        True,
        False,
    ]
    seen: dict[str, bytes] = {}

    class Spy(codecs.PresetCodec):
        def encode(self, image: Image.Image, quality: object, prepared: object = None) -> bytes:
            out = super().encode(image, quality, prepared)
            seen[str(image.info.get("source_path"))] = out
            return out

    spy = Spy("machine", name="preset=machine:file", from_file=True)
    items = [(tmp_path / n, None) for n in ("a.jpg", "turned.jpg", "b.png")]
    swept = run_sweep(items, {}, [], {"spy": (spy, (40,))})
    assert swept.n == 3
    a = (tmp_path / "a.jpg").read_bytes()
    # The JPEG file goes the DCT route, as jpegsal.encode(file) takes it (not the pixels).
    assert seen[str(tmp_path / "a.jpg")] == jpegsal.encode(a, preset="machine", quality=40)
    assert seen[str(tmp_path / "a.jpg")] != pixels.encode(load_rgb(tmp_path / "a.jpg"), 40)
    # The turned file is given as its upright pixels, the PNG as its file (the same pixels).
    assert seen["None"] == pixels.encode(load_rgb(tmp_path / "turned.jpg"), 40)
    assert seen[str(tmp_path / "b.png")] == pixels.encode(load_rgb(tmp_path / "b.png"), 40)
    assert file_codec.encode(load_rgb(tmp_path / "b.png"), 40) == seen[str(tmp_path / "b.png")]
