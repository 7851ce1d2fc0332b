"""SFace, the default face network: the shipped file, alignment on 5 landmarks, the landmark sources, the
network choice, and vectors of different networks kept apart."""
from __future__ import annotations

import hashlib
from importlib import resources

import cv2
import numpy as np
import pytest

from facecluster.errors import ParameterError
from facecluster.faces.embed import check_network, make_aligner, network_id, network_of_id, resolve_embedder
from facecluster.faces.embed.sface import (ARCFACE_TEMPLATE, CHIP_SIZE, PRECISIONS, SFaceEmbedder, align_chip, model_path,
                                           similarity_transform)
from facecluster.faces.landmarks import BOX_LAYOUT, LandmarkFinder, box_landmarks
from facecluster.pipeline.photos import load_photo

SFACE_SHA256 = "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79"


def _demo(name: str) -> np.ndarray:
    return load_photo(resources.files("facecluster") / "demo_photos" / name)


def _rotation(theta: float, scale: float, shift) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[scale * c, -scale * s, shift[0]], [scale * s, scale * c, shift[1]]])


def test_the_shipped_model_is_the_zoo_file_with_its_licence():
    path = model_path()
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == SFACE_SHA256
    licence = resources.files("facecluster.faces.embed") / "models" / "LICENSE-sface.txt"
    assert "Apache License" in licence.read_text(encoding="utf-8")


def test_similarity_transform_recovers_rotation_scale_and_shift():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 200, (5, 2))
    truth = _rotation(0.3, 0.7, (12.0, -40.0))
    dst = src @ truth[:, :2].T + truth[:, 2]
    assert np.allclose(similarity_transform(src, dst), truth, atol=1e-9)
    mirrored = dst * np.array([-1.0, 1.0])  # no reflection is ever fitted: the fit then has an error
    fit = similarity_transform(src, mirrored)
    assert np.linalg.det(fit[:, :2]) > 0


def test_align_chip_puts_the_landmarks_on_the_template():
    # Five bright dots where a tilted, scaled face's landmarks would be; aligned, they land on the template.
    truth = _rotation(-0.25, 2.2, (150.0, 90.0))
    points = ARCFACE_TEMPLATE @ truth[:, :2].T + truth[:, 2]
    image = np.zeros((480, 640, 3), np.uint8)
    for x, y in points:
        cv2.circle(image, (int(round(x)), int(round(y))), 5, (255, 255, 255), -1)
    chip = align_chip(image, points)
    assert chip.shape == (CHIP_SIZE, CHIP_SIZE, 3) and chip.dtype == np.uint8
    for x, y in ARCFACE_TEMPLATE:
        assert chip[int(round(y)), int(round(x))].min() > 200
    assert chip[5, 5].max() == 0
    # Points given as NaN (dlib's source has no mouth corners) are left out of the fit: the same chip.
    partial = points.copy()
    partial[3:] = np.nan
    assert np.abs(align_chip(image, partial).astype(int) - chip.astype(int)).max() <= 1


def test_box_layout_lies_inside_the_box_eyes_above_mouth():
    pts = box_landmarks(np.array([[10, 20, 110, 140]], np.float32))[0]
    assert pts.shape == (5, 2)
    assert (pts[:, 0] > 10).all() and (pts[:, 0] < 110).all() and (pts[:, 1] > 20).all() and (pts[:, 1] < 140).all()
    assert pts[0, 0] < pts[1, 0] and pts[3, 0] < pts[4, 0] and pts[:2, 1].max() < pts[2, 1] < pts[3:, 1].min()
    assert np.allclose((pts - [10, 20]) / [100, 120], BOX_LAYOUT, atol=1e-6)


@pytest.mark.parametrize("source", ["centerface", "yunet", "dlib"])
def test_landmarks_are_found_on_a_real_face(source):
    from facecluster.faces.detect import make_detector

    rgb = _demo("grace_hopper.jpg")
    boxes, _, _ = make_detector("centerface").detect(rgb)
    finder = LandmarkFinder(source)
    points = finder.find(rgb, boxes[:1])[0]
    assert finder.found == 1
    x1, y1, x2, y2 = boxes[0]
    known = points[~np.isnan(points).any(axis=1)]
    assert ((known[:, 0] > x1) & (known[:, 0] < x2) & (known[:, 1] > y1) & (known[:, 1] < y2)).all()
    assert points[0, 0] < points[1, 0] and max(points[0, 1], points[1, 1]) < points[2, 1]
    # The fit differs from the box layout's: the landmarks were found, not assumed.
    assert np.nanmax(np.abs(points - box_landmarks(boxes[:1])[0])) > 0.5
    with pytest.raises(ParameterError, match="landmarks must be one of"):
        LandmarkFinder("nose")


def test_sface_tells_one_face_from_another_and_batches_do_not_matter():
    from facecluster.faces.detect import make_detector

    detector, aligner = make_detector("centerface"), make_aligner("sface")
    grace, eileen = _demo("grace_hopper.jpg"), _demo("eileen_collins.png")
    # The same face again, smaller and shifted: another picture of the same person.
    moved = cv2.warpAffine(grace, _rotation(0.08, 0.8, (30.0, 20.0)), (grace.shape[1], grace.shape[0]))
    chips = np.concatenate([aligner.chips(img, detector.detect(img)[0][:1]) for img in (grace, moved, eileen)])
    assert chips.shape == (3, CHIP_SIZE, CHIP_SIZE, 3)
    embedder = SFaceEmbedder(threads=2)
    vectors = embedder.embed(chips)
    assert vectors.shape == (3, 128) and vectors.dtype == np.float32
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    same, different = 1 - unit[0] @ unit[1], 1 - unit[0] @ unit[2]
    assert same < 0.45 < different, (same, different)
    # One chip alone, or among 20 others, on 1 thread or 2: the same vector.
    crowd = np.concatenate([chips, np.repeat(chips[2:], 17, axis=0)])
    alone = SFaceEmbedder(threads=1).embed(chips[1:2])
    assert np.allclose(embedder.embed(crowd)[1], alone[0], atol=1e-5)


def test_network_names_ids_and_backends():
    assert network_id("sface") != network_id("dlib") and network_of_id(network_id("dlib")) == "dlib"
    assert network_of_id("some_other_net") is None
    assert resolve_embedder("auto", network="sface") == "openvino"  # installed with the test extra
    with pytest.raises(ParameterError, match="backend of dlib's network"):
        check_network("sface", "torch")
    with pytest.raises(ParameterError, match="network must be one of"):
        check_network("facenet")


def test_a_gallery_describes_its_stored_face_crops_as_a_run_would():
    from facecluster.faces.detect import make_detector
    from facecluster.faces.embed import embed_chip_batches
    from facecluster.jobs.gallery import describe_face_images
    from facecluster.pipeline.crops import crop_face

    grace, eileen = _demo("grace_hopper.jpg"), _demo("eileen_collins.png")
    detector, aligner = make_detector("centerface"), make_aligner("sface")
    box = detector.detect(grace)[0][:1]
    direct = np.concatenate(list(embed_chip_batches([aligner.chips(grace, box)], network="sface")))[0]
    direct /= np.linalg.norm(direct)
    crops = [cv2.imencode(".jpg", cv2.cvtColor(crop_face(img, detector.detect(img)[0][0]), cv2.COLOR_RGB2BGR))[1].tobytes()
             for img in (grace, eileen)]
    from_crop = describe_face_images(crops[:1], "sface")
    other = describe_face_images(crops[1:], "sface")
    assert abs(np.linalg.norm(from_crop) - 1) < 1e-5
    assert 1 - direct @ from_crop < 0.2 < 1 - direct @ other


def test_sface_embeds_the_same_vectors_from_threads_side_by_side_and_restores_opencvs_threads():
    from concurrent.futures import ThreadPoolExecutor

    from facecluster.faces.embed import embed_chip_batches

    rng = np.random.default_rng(3)
    chips = rng.integers(0, 256, (40, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
    before = cv2.getNumThreads()
    serial = SFaceEmbedder(threads=1, backend="opencv").embed(chips)
    parts = [chips[i : i + 16] for i in range(0, 40, 16)] * 3
    with ThreadPoolExecutor(max_workers=3) as pool:  # three callers at once, each on its own copy of the network
        together = list(pool.map(SFaceEmbedder(threads=2, backend="opencv").embed, parts))
    for k, part in enumerate(together):
        start = 16 * (k % 3)
        assert np.array_equal(part, serial[start : start + 16])
    streamed = np.concatenate(list(embed_chip_batches(parts[:3], workers=2, network="sface")))  # OpenVINO's
    assert np.array_equal(streamed, SFaceEmbedder(threads=1).embed(chips))
    wide = SFaceEmbedder(threads=5, backend="opencv")  # more cores: no more copies (each holds ~180 MB running), more threads each
    assert (wide.copies, wide.threads_per_copy) == (2, 2)
    assert np.array_equal(wide.embed(chips), serial)
    assert cv2.getNumThreads() == before


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_openvino_gives_opencvs_vectors_whatever_the_cores_and_batch_mates(threads):
    rng = np.random.default_rng(4)
    chips = rng.integers(0, 256, (40, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
    chips[:8] = np.stack([cv2.GaussianBlur(c, (0, 0), 3) for c in chips[:8]])  # smooth pictures too, not only noise
    opencv = SFaceEmbedder(threads=1, backend="opencv").embed(chips)
    openvino = SFaceEmbedder(threads=threads, backend="openvino", precision="f32")
    assert openvino.name == "openvino" and openvino.copies == min(threads, 2)
    vectors = openvino.embed(chips)
    assert vectors.shape == (40, 128) and vectors.dtype == np.float32
    assert np.abs(vectors - opencv).max() < 1e-4 * np.abs(opencv).max()
    for precision in PRECISIONS:  # bit for bit: no dependence on threads, streams or batch-mates, in either precision
        alone = SFaceEmbedder(threads=1, backend="openvino", precision=precision).embed(chips[5:6])
        among = SFaceEmbedder(threads=threads, backend="openvino", precision=precision).embed(chips)
        assert np.array_equal(alone[0], among[5])


def test_sface_runs_in_bf16_where_the_cpu_does_with_vectors_close_to_f32s_and_a_cache_key_of_its_own():
    """precision auto: bf16 on OpenVINO where the CPU runs it (about twice as fast), f32 elsewhere and on OpenCV; the
    vectors of real faces within a cosine of 0.999 of f32's; a precision other than f32 is in the embedding cache key."""
    from facecluster.faces.detect import make_detector
    from facecluster.faces.embed import output_params
    from facecluster.faces.embed.sface import default_precision
    from facecluster.openvino_runtime import cpu_runs_bf16

    own = SFaceEmbedder(threads=2)
    assert own.precision == default_precision() == ("bf16" if cpu_runs_bf16() else "f32")
    assert SFaceEmbedder(backend="opencv").precision == "f32" and default_precision("opencv") == "f32"
    assert ("precision" in output_params("auto", network="sface")) == (own.precision != "f32")
    detector, aligner = make_detector("centerface"), make_aligner("sface")
    images = [_demo("grace_hopper.jpg"), _demo("eileen_collins.png")]
    chips = np.concatenate([aligner.chips(img, detector.detect(img)[0][:1]) for img in images])
    chips = np.concatenate([chips, chips[:, :, ::-1]])  # and mirrored
    exact = SFaceEmbedder(threads=2, precision="f32").embed(chips)
    fast = own.embed(chips)
    cosine = (exact * fast).sum(1) / np.linalg.norm(exact, axis=1) / np.linalg.norm(fast, axis=1)
    assert cosine.min() > 0.999, cosine
    with pytest.raises(ParameterError, match="precision must be one of auto, f32"):
        SFaceEmbedder(precision="int8")


def test_an_unknown_sface_backend_is_refused():
    with pytest.raises(ParameterError, match="backend must be one of openvino, opencv"):
        SFaceEmbedder(backend="tensorrt")


def test_chip_batches_hands_on_batches_of_exactly_embed_batch_chips(tmp_path):
    from facecluster.faces.align import EMBED_BATCH, chip_batches

    frames_count, per_frame = 12, 3  # 36 faces, 3 a frame: the batches of 16 fall inside frames
    path = tmp_path / "faces.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 96))
    for _ in range(frames_count):
        writer.write(np.full((96, 160, 3), 128, np.uint8))
    writer.release()
    frames = np.repeat(np.arange(frames_count), per_frame)
    boxes = np.tile(np.array([[10, 10, 50, 50], [60, 10, 100, 50], [110, 10, 150, 50]], np.float32), (frames_count, 1))

    class BoxChips:  # a stand-in aligner: one chip a box
        def chips(self, rgb, boxes):
            return np.zeros((len(boxes), CHIP_SIZE, CHIP_SIZE, 3), np.uint8)

    sizes = [len(b) for b in chip_batches(path, frames, boxes, np.arange(len(frames)), BoxChips())]
    assert sizes == [EMBED_BATCH, EMBED_BATCH, len(frames) - 2 * EMBED_BATCH]


def test_openvino_is_loaded_without_its_telemetry_or_a_forked_process():
    """`import openvino` also imports its model-conversion tools, which send usage telemetry from a forked process:
    a run must not go on the network, and a fork of a multithreaded run can hang."""
    import subprocess
    import sys

    code = ("import os, sys\nimport numpy as np\nforks = []\nos.register_at_fork(before=lambda: forks.append(1))\n"
            "from facecluster.faces.embed.sface import SFaceEmbedder\n"
            "vectors = SFaceEmbedder(1, backend='openvino').embed(np.zeros((2, 112, 112, 3), np.uint8))\n"
            "print(len(forks), 'openvino.tools.ovc' in sys.modules, 'openvino_telemetry' in sys.modules, vectors.shape)\n"
            "from openvino.tools.ovc import convert_model\n")  # the tools can still be imported on purpose
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "CI": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[0] == "0 False False (2, 128)"


def test_two_streams_first_inferences_at_once_do_not_deadlock():
    """OpenVINO's bindings set up their numpy bridge on first use, under a guard that two threads can deadlock on: two
    streams running their first batches at once hung 16 of 90 fresh processes before import_openvino set it up in
    one thread. Six fresh processes here (each would hang with a chance of about 1 in 6 without it)."""
    import subprocess
    import sys

    code = ("import threading\nimport numpy as np\nfrom facecluster.faces.embed import sface\n"
            "embedder = sface.SFaceEmbedder(threads=2, backend='openvino')\nbarrier = threading.Barrier(2)\n"
            "def first():\n    barrier.wait()\n    embedder._run_openvino(np.zeros((16, 112, 112, 3), np.uint8))\n"
            "threads = [threading.Thread(target=first) for _ in range(2)]\n"
            "[t.start() for t in threads]\n[t.join() for t in threads]\nprint('done')\n")
    for _ in range(6):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-2000:]


def test_without_openvino_sface_runs_on_opencv(monkeypatch):
    """Where the openvino extra is not installed, a run embeds with OpenCV's dnn."""
    import importlib.util

    from facecluster.faces.embed import embed_chip_batches

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "openvino" else real(name, *args))
    assert resolve_embedder("auto", network="sface") == "opencv"
    chips = np.random.default_rng(5).integers(0, 256, (20, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
    streamed = np.concatenate(list(embed_chip_batches([chips[:16], chips[16:]], workers=2, network="sface")))
    assert np.array_equal(streamed, SFaceEmbedder(threads=1, backend="opencv").embed(chips))
