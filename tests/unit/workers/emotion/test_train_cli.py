"""`vidsentry train emotion` and `vidsentry evaluate emotion` end to end through the CLI, on SYNTHETIC data
(noisy stripe patterns drawn per class, see conftest), with tiny models and few epochs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from schemas import EMOTION_LABELS
from tests.conftest import CACHE_ROOT
from tests.unit.workers.emotion.conftest import draw_pattern, faces_msg, write_pattern_csv, write_pattern_folders
from vidsentry.cli import app
from workers.emotion.config import EmotionConfig
from workers.emotion.labelmap import read_label_map
from workers.emotion.loader import open_model
from workers.emotion.worker import build_stage

runner = CliRunner()


def invoke(app, args: list[str]):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result


@pytest.fixture(scope="module")
def patterns(tmp_path_factory) -> Path:
    return write_pattern_folders(tmp_path_factory.mktemp("patterns"), {"train": 40, "test": 15}, mislabelled=5)


@pytest.fixture(scope="module")
def trained(patterns, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("model")
    result = invoke(app, ["train", "emotion", patterns, "--out", out, "--base", "scratch", "--input-size", 32,
                                "--epochs", 10, "--batch-size", 8, "--learning-rate", 0.003, "--patience", 3,
                                "--val-fraction", 0.2, "--cache-dir", CACHE_ROOT])
    return out, result.output


def test_train_saves_the_model_its_labels_and_history(trained):
    out, output = trained
    model_path = out / "emotion_model.keras"
    assert f"model:     {model_path}" in output
    assert read_label_map(model_path).labels == ("checker", "horizontal", "vertical")
    history = json.loads((out / "history.json").read_text())
    losses = history["history"]["loss"]
    assert 1 <= history["epochs_run"] == len(losses) <= 10
    assert min(losses[1:]) < losses[0], f"training loss never went down: {losses}"
    assert "val_loss" in history["history"] and "Epoch 1/10" in output


def test_evaluate_reports_what_a_hand_count_of_its_predictions_gives(trained, patterns, tmp_path):
    out, _ = trained
    result = invoke(app, ["evaluate", "emotion", patterns, out / "emotion_model.keras", "--out", tmp_path])
    report = json.loads((tmp_path / "report.json").read_text())
    with (tmp_path / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    labels = report["labels"]
    assert labels == ["checker", "horizontal", "vertical"]
    truth = [r["true"] for r in rows]
    assert {label: truth.count(label) for label in labels} == {"checker": 15, "horizontal": 15, "vertical": 20}
    for row in rows:
        probs = [float(row[f"p_{label}"]) for label in labels]
        assert abs(sum(probs) - 1) < 1e-5 and row["predicted"] == labels[int(np.argmax(probs))]

    pairs = [(r["true"], r["predicted"]) for r in rows]
    accuracy = sum(t == p for t, p in pairs) / len(pairs)
    assert report["samples"] == 50
    assert report["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert 0.6 < accuracy < 1.0, "learned the patterns, and cannot be right about the 5 mislabelled gratings"
    f1s = []
    for label in labels:
        tp = sum(t == label and p == label for t, p in pairs)
        fp = sum(t != label and p == label for t, p in pairs)
        fn = sum(t == label and p != label for t, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        got = report["per_class"][label]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((precision, recall, f1), abs=1e-12), label
        assert got["support"] == tp + fn
        assert f"{label:<10}  {precision:9.4f}  {recall:6.4f}  {f1:.4f}" in result.output
    assert report["macro_f1"] == pytest.approx(sum(f1s) / 3, abs=1e-12)
    assert report["confusion"] == [[pairs.count((t, p)) for p in labels] for t in labels]
    assert f"accuracy  {accuracy:.4f}" in result.output and f"macro-F1  {sum(f1s) / 3:.4f}" in result.output
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_fine_tune_the_bundled_model_on_a_fer2013_csv_and_run_it_in_the_worker(tmp_path):
    data = write_pattern_csv(tmp_path / "fer.csv", {"Training": 20, "PublicTest": 6, "PrivateTest": 6})
    out = tmp_path / "tuned"
    invoke(app, ["train", "emotion", data, "--out", out, "--epochs", 1, "--batch-size", 16, "--tflite",
                       "--no-augment", "--cache-dir", CACHE_ROOT])
    keras_model = open_model(out / "emotion_model.keras")
    tflite_model = open_model(out / "emotion_model.tflite")
    assert keras_model.labels == tflite_model.labels == EMOTION_LABELS
    rng = np.random.default_rng(5)
    faces = np.stack([draw_pattern(kind, rng, 64) for kind in ("horizontal", "vertical", "checker")])
    np.testing.assert_allclose(keras_model.predict(faces), tflite_model.predict(faces), atol=1e-4)

    result = invoke(app, ["evaluate", "emotion", data, out / "emotion_model.tflite", "--out", tmp_path / "eval",
                                   "--runtime", "tflite", "--cache-dir", CACHE_ROOT])
    assert "on " + f"{data}:test: 18 images" in result.output
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert [report["per_class"][label]["support"] for label in EMOTION_LABELS] == [6, 0, 0, 6, 0, 0, 6]

    import cv2

    from vidsentry.config import Config

    stage = build_stage(Config(), EmotionConfig(model_path=out / "emotion_model.keras"))
    (emotions,) = stage.process([faces_msg([cv2.imencode(".png", face)[1].tobytes() for face in faces])])
    assert stage.model.name == "emotion_model-tf-function+flip"
    assert len(emotions.faces) == 3 and emotions.labels == list(EMOTION_LABELS)


def test_the_bundled_model_evaluates_by_name(tmp_path):
    data = write_pattern_csv(tmp_path / "fer.csv", {"PrivateTest": 2})
    result = invoke(app, ["evaluate", "emotion", data, "bundled", "--out", tmp_path / "eval", "--cache-dir", CACHE_ROOT])
    assert "model mini-xception-tflite+flip" in result.output and "6 images" in result.output
    result = invoke(app, ["evaluate", "emotion", data, "mini-xception", "--no-flip", "--out", tmp_path / "eval",
                          "--cache-dir", CACHE_ROOT])
    assert "model mini-xception-tflite on" in result.output


def test_a_vgg_trained_in_bfloat16_with_a_cosine_schedule_is_saved_in_float32(patterns, tmp_path):
    out = tmp_path / "vgg"
    invoke(app, ["train", "emotion", patterns, "--out", out, "--base", "vgg", "--input-size", 32, "--epochs", 3,
                 "--batch-size", 8, "--schedule", "cosine", "--label-smoothing", 0.1, "--bfloat16",
                 "--val-fraction", 0.2, "--cache-dir", CACHE_ROOT])
    history = json.loads((out / "history.json").read_text())
    assert history["epochs_run"] == 3, "a cosine schedule runs every epoch (no early stop)"
    assert history["options"]["bfloat16"] is True and history["options"]["label_smoothing"] == 0.1
    import keras

    saved = keras.models.load_model(out / "emotion_model.keras", compile=False)
    assert {w.dtype for w in saved.weights} == {"float32"}
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}, "the worker runs it in float32"
    assert keras.mixed_precision.global_policy().name == "float32", "training leaves the global policy as it was"
    model = open_model(out / "emotion_model.keras")
    assert model.labels == ("checker", "horizontal", "vertical")
    rng = np.random.default_rng(7)
    faces = np.stack([draw_pattern(kind, rng, 32) for kind in ("horizontal", "vertical", "checker")])
    assert np.allclose(model.predict(faces).sum(axis=1), 1.0)


def test_a_warm_start_begins_from_the_saved_weights(trained, patterns, tmp_path):
    """With a learning rate too small to move anything, one more epoch from --init keeps the source's
    learned weights (batch-norm statistics still follow the data, so they are not compared)."""
    import keras

    def learned(path: Path) -> list[np.ndarray]:
        return [w.numpy() for w in keras.models.load_model(path, compile=False).trainable_weights]

    def train_one_epoch(out: Path, *init: object) -> list[np.ndarray]:
        invoke(app, ["train", "emotion", patterns, "--out", out, "--base", "scratch", "--input-size", 32,
                     "--epochs", 1, "--batch-size", 8, "--learning-rate", 1e-7, "--no-augment",
                     "--val-fraction", 0.2, *init, "--cache-dir", CACHE_ROOT])
        return learned(out / "emotion_model.keras")

    source = trained[0] / "emotion_model.keras"
    before = learned(source)
    warm = train_one_epoch(tmp_path / "warm", "--init", source)
    assert json.loads((tmp_path / "warm" / "history.json").read_text())["options"]["init_from"] == str(source)
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(before, warm, strict=True))
    fresh = train_one_epoch(tmp_path / "fresh")
    assert not all(np.allclose(a, b, atol=1e-4) for a, b in zip(before, fresh, strict=True)), \
        "a fresh network has the trained one's weights: the test cannot tell a warm start"


def test_a_warm_start_from_another_network_is_refused_clearly(trained, patterns, tmp_path):
    result = runner.invoke(app, [str(a) for a in ["train", "emotion", patterns, "--out", tmp_path / "x", "--base", "vgg",
                                                  "--input-size", 32, "--epochs", 1, "--init",
                                                  trained[0] / "emotion_model.keras", "--cache-dir", CACHE_ROOT]])
    assert result.exit_code == 2, result.output
    assert "does not match the vgg network at 32x32x1 with 3 labels" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("done", "factor"), [(0.0, 1.0), (0.5, 0.505), (1.0, 0.01), (2.0, 0.01), (-1.0, 1.0)])
def test_the_cosine_schedule_over_a_time_box(done, factor):
    from workers.emotion.train import cosine_factor

    assert cosine_factor(done) == pytest.approx(factor)


@pytest.mark.parametrize(("args", "message"), [
    (["train", "emotion", "{data}", "--input-size", "32"], "the bundled model takes 64x64 gray faces"),
    (["evaluate", "emotion", "{data}", "bundled", "--split", "val"], "has no val split"),
    (["evaluate", "emotion", "{data}", "{tmp}/missing.keras"], "no such file or folder"),
    (["evaluate", "emotion", "{data}", "{tmp}/x.tflite", "--runtime", "keras"], "runtime keras cannot run"),
])
def test_user_errors_are_one_line_and_exit_2(tmp_path, args, message):
    data = write_pattern_csv(tmp_path / "fer.csv", {"PrivateTest": 1})
    args = [a.format(data=data, tmp=tmp_path) for a in args] + ["--out", str(tmp_path / "out"), "--cache-dir", str(CACHE_ROOT)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_cli_lists_the_emotion_tools():
    assert "emotion" in runner.invoke(app, ["train", "--help"]).output
    assert "emotion" in runner.invoke(app, ["evaluate", "--help"]).output
