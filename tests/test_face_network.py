"""dlib's face ResNet read from dlib's file and run by onnxruntime (a graph written from the file) and by
PyTorch: structure, agreement with dlib, independence of batching and cores, export."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_data

from facecluster.cluster.registry import make_clusterer
from facecluster.distances import l2_normalize
from facecluster.errors import InputError, ParameterError
from facecluster.faces.align import FaceAligner, model_file
from facecluster.faces.detect import make_detector
from facecluster.faces.embed import (
    RESNET_MODEL,
    DlibEmbedder,
    OnnxRuntimeEmbedder,
    TorchEmbedder,
    embed_chip_batches,
    load_torch_resnet,
    output_params,
    resolve_embedder,
)
from facecluster.faces.embed.dlib_format import read_dlib_network

AGREEMENT = 1e-4  # max abs difference per dimension (float32)


def test_model_file_parses_into_dlibs_resnet():
    net = read_dlib_network(model_file(RESNET_MODEL))
    kinds = [layer.kind for layer in net.layers]
    assert net.input_size == (150, 150)
    assert np.allclose(net.input_mean_rgb, (122.782, 117.001, 104.298), atol=1e-3)
    assert kinds.count("con_4") == 29 and kinds.count("affine_") == 29 and kinds.count("add_prev_") == 14
    assert kinds[:4] == ["con_4", "affine_", "relu_", "max_pool_2"] and kinds[-2:] == ["avg_pool_2", "fc_2"]
    first = net.layers[0]
    assert first.fields["filter_shape"] == (32, 3, 7, 7) and first.params.size == 32 * 3 * 7 * 7 + 32
    fc = net.layers[-1]
    assert (fc.fields["inputs"], fc.fields["outputs"], fc.fields["bias"]) == (256, 128, False)
    model = load_torch_resnet("cpu")
    assert len(model.units) == 14
    strides = [unit.main[0].stride for unit in model.units]
    assert strides.count((2, 2)) == 4  # four levels halve the resolution


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda b: b[: len(b) // 2], "file ends early"),
        (lambda b: b"\x01\x01\x01\x0dloss_metric_9" + b[17:], "'loss_metric_9'"),
        (lambda b: b"this is text, not a network\n" * 10, "not a dlib face ResNet file"),
        (lambda b: b + b"\x00" * 7, "7 bytes left over"),
    ],
)
def test_damaged_model_file_is_refused_naming_the_file(tmp_path, damage, problem):
    bad = tmp_path / "model.dat"
    bad.write_bytes(damage(Path(model_file(RESNET_MODEL)).read_bytes()))
    with pytest.raises(InputError) as info:
        read_dlib_network(str(bad))
    assert str(bad) in str(info.value) and problem in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("build", ["onnx", "torch"])
def test_a_network_of_another_structure_is_refused_naming_the_file(build):
    """Both backends build from the checked structure: a chain without dlib's residual pattern is an InputError."""
    from dataclasses import replace

    from facecluster.faces.embed.torch_resnet import DlibFaceResNet

    dlib_resnet_onnx = _onnx_tool().dlib_resnet_onnx

    net = read_dlib_network(model_file(RESNET_MODEL))
    make = (lambda n: dlib_resnet_onnx(n, "net.dat")) if build == "onnx" else (lambda n: DlibFaceResNet(n, "net.dat"))
    no_units = replace(net, layers=[layer for layer in net.layers if layer.kind != "marker"])
    no_relu = replace(net, layers=[layer for i, layer in enumerate(net.layers)
                                   if not (layer.kind == "relu_" and net.layers[i - 1].kind == "add_prev_")])
    no_head = replace(net, layers=net.layers[:-1])
    for broken, problem in ((no_units, "no residual units"), (no_relu, "does not end in relu"), (no_head, "head")):
        with pytest.raises(InputError, match="unexpected network structure") as info:
            make(broken)
        assert "net.dat" in str(info.value) and problem in str(info.value)


def _onnx_tool():
    """tools/dlib_resnet_onnx.py, the maintainers' builder of the shipped ONNX file (it needs the onnx package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tools" / "dlib_resnet_onnx.py"
    spec = importlib.util.spec_from_file_location("dlib_resnet_onnx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_dlib_onnx_file_is_what_the_tool_builds(tmp_path):
    import hashlib

    from facecluster.faces.embed import dlib_onnx_path

    digest = _onnx_tool().build(str(tmp_path / "built.onnx"))
    assert digest == hashlib.sha256(Path(dlib_onnx_path()).read_bytes()).hexdigest()
    licence = (Path(dlib_onnx_path()).parent / "LICENSE-dlib.txt").read_text()
    assert "CC0" in licence and digest in licence


def _generated_chips(astronaut: np.ndarray) -> np.ndarray:
    """A face chip from a test image, and variations of it and of noise (K, 150, 150, 3) uint8."""
    import cv2

    boxes, _, _ = make_detector("centerface").detect(astronaut)
    face = FaceAligner().chips(astronaut, boxes)[0]
    rng = np.random.default_rng(7)
    chips = [face, face[:, ::-1], np.clip(face * 0.6, 0, 255), np.clip(face.astype(int) + 60, 0, 255)]
    chips += [cv2.GaussianBlur(face, (0, 0), s) for s in (1.0, 2.5)]
    chips += [np.roll(face, shift, axis=(0, 1)) for shift in ((5, 0), (0, -7), (10, 10))]
    chips += [rng.integers(0, 256, face.shape) for _ in range(4)]
    chips += [np.zeros_like(face), np.full_like(face, 255)]
    gradient = np.linspace(0, 255, 150)[None, :, None] * np.ones((150, 1, 3))
    chips += [gradient, gradient.transpose(1, 0, 2)]
    return np.stack([np.ascontiguousarray(c).astype(np.uint8) for c in chips])


def test_torch_matches_dlib_on_generated_chips(astronaut):
    chips = _generated_chips(astronaut)
    reference = DlibEmbedder().embed(chips)
    ours = TorchEmbedder("cpu").embed(chips)
    assert ours.shape == reference.shape == (len(chips), 128) and ours.dtype == np.float32
    assert np.abs(ours - reference).max() < AGREEMENT


def test_onnxruntime_matches_dlib_and_torch_on_generated_chips(astronaut):
    chips = _generated_chips(astronaut)
    ours = OnnxRuntimeEmbedder(2).embed(chips)
    assert ours.shape == (len(chips), 128) and ours.dtype == np.float32
    assert np.abs(ours - DlibEmbedder().embed(chips)).max() < AGREEMENT
    assert np.abs(ours - TorchEmbedder("cpu").embed(chips)).max() < 1e-5


def test_the_default_embedder_is_onnxruntime_on_a_cpu():
    assert resolve_embedder("auto", "cpu") == "onnxruntime" and resolve_embedder("torch", "cpu") == "torch"
    assert output_params("auto", "cpu") == {"device": "cpu", "batch": 16} == output_params("onnxruntime", "cuda")
    with pytest.raises(ParameterError, match="embedder must be one of auto, onnxruntime, torch, dlib"):
        resolve_embedder("tensorflow")


@pytest.mark.parametrize("embedder", ["onnxruntime", "torch"])
def test_descriptors_do_not_depend_on_batching_or_cores(astronaut, embedder):
    chips = _generated_chips(astronaut)
    whole = (OnnxRuntimeEmbedder(1) if embedder == "onnxruntime" else TorchEmbedder("cpu")).embed(chips)
    for workers in (1, 2):
        for split in (1, 5, 16, 17):
            batches = [chips[i : i + split] for i in range(0, len(chips), split)]
            parts = list(embed_chip_batches(batches, workers=workers, embedder=embedder, device="cpu"))
            assert [len(p) for p in parts] == [len(b) for b in batches]
            assert np.array_equal(np.concatenate(parts), whole), (workers, split)


def _video_chips(clip: str, every: int, limit: int) -> np.ndarray:
    from facecluster.video.decode import iter_frames

    folder = shared_data("video", "gt", clip)
    video = shared_data("video", f"{clip}.mp4")
    boxes: dict[int, list[list[float]]] = {}
    with open(folder / "faces.csv", newline="") as f:
        for row in csv.DictReader(f):
            frame = int(row["frame"])
            if frame % every == 0:
                boxes.setdefault(frame, []).append([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
    aligner, chips = FaceAligner(), []
    for frame in iter_frames(video, frames=set(boxes)):
        chips.extend(aligner.chips(frame.rgb, np.array(boxes[frame.index], np.float32)))
    return np.stack(chips[:limit])


def _photo_chips(collection: str, limit: int) -> np.ndarray:
    from facecluster.pipeline.photos import detect_and_align, list_photos, load_photo

    root = shared_data("faces", collection)
    detector, aligner, chips = make_detector("centerface"), FaceAligner(), []
    for path in list_photos(root):
        chips.extend(detect_and_align(load_photo(path), detector, aligner)[2])
        if len(chips) >= limit:
            break
    return np.stack(chips[:limit])


@pytest.mark.shared_data
def test_torch_matches_dlib_on_real_chips():
    chips = np.concatenate(
        [
            _video_chips("short_hamilton_clip", every=10, limit=80),
            _video_chips("sweden", every=15, limit=80),
            _photo_chips("celebs11", limit=60),
        ]
    )
    assert len(chips) >= 200
    reference = np.concatenate(list(embed_chip_batches([chips[i : i + 32] for i in range(0, len(chips), 32)], workers=2, embedder="dlib")))
    ours = TorchEmbedder("cpu").embed(chips)
    assert np.abs(ours - reference).max() < AGREEMENT
    assert np.abs(OnnxRuntimeEmbedder(2).embed(chips) - reference).max() < AGREEMENT
    for method in ("average", "complete"):
        labels_ref = make_clusterer(method).fit_predict(l2_normalize(reference))
        labels_ours = make_clusterer(method).fit_predict(l2_normalize(ours))
        assert np.array_equal(labels_ref, labels_ours), method
        assert 5 < len(set(labels_ours.tolist())) < len(chips)  # a real clustering, not all-in-one or all-apart


def test_onnx_export_reproduces_the_descriptors(tmp_path, astronaut):
    import onnxruntime as ort

    out = tmp_path / "dir with space" / "face net.onnx"
    out.parent.mkdir()
    done = subprocess.run([sys.executable, "-m", "facecluster", "export-embedder", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 20e6 and not list(out.parent.glob(".*.tmp"))
    chips = _generated_chips(astronaut)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (descriptors,) = session.run(None, {"chips": chips})
    assert descriptors.shape == (len(chips), 128)
    assert np.abs(descriptors - DlibEmbedder().embed(chips)).max() < AGREEMENT
    assert np.array_equal(descriptors, OnnxRuntimeEmbedder(1).embed(chips))  # the graph the default embedder runs


def test_onnx_export_to_a_folder_is_a_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "facecluster", "export-embedder", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and str(tmp_path) in done.stderr and "folder" in done.stderr


def test_unreadable_model_path_is_a_one_line_error(tmp_path):
    with pytest.raises(InputError, match="cannot read") as info:
        read_dlib_network(str(tmp_path / "absent.dat"))
    assert str(tmp_path / "absent.dat") in str(info.value)
