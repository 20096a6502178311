"""Reads fedledger files with the reference Python packages and prints what they hold as JSON.

Usage: read_safetensors.py FILE.safetensors ... [--tfjs DIR]
For each safetensors file: its metadata and every tensor (dtype, shape, values), read with
safetensors.numpy; for a TensorFlow.js layers model: each weight of model.json's manifest read
from weights.bin with numpy.
"""
import json
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def tensors_of(arrays):
    return {
        name: {
            "dtype": str(array.dtype),
            "shape": list(array.shape),
            "values": [float(v) for v in array.reshape(-1)],
        }
        for name, array in arrays.items()
    }


def read_safetensors(path):
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata() or {}
    return {"metadata": metadata, "tensors": tensors_of(load_file(path))}


def read_tfjs(directory):
    manifest = json.loads((Path(directory) / "model.json").read_text())
    group = manifest["weightsManifest"][0]
    data = b"".join((Path(directory) / p).read_bytes() for p in group["paths"])
    arrays, offset = {}, 0
    for spec in group["weights"]:
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        arrays[spec["name"]] = np.frombuffer(data, dtype=np.float32, count=count, offset=offset).reshape(spec["shape"])
        offset += 4 * count
    if offset != len(data):
        raise SystemExit(f"weights.bin has {len(data)} bytes; the manifest accounts for {offset}")
    return {"layers": [layer["class_name"] for layer in manifest["modelTopology"]["config"]["layers"]], "tensors": tensors_of(arrays)}


def main(argv):
    out, tfjs = {}, None
    args = list(argv)
    if "--tfjs" in args:
        i = args.index("--tfjs")
        tfjs = args[i + 1]
        del args[i : i + 2]
    for path in args:
        out[path] = read_safetensors(path)
    if tfjs is not None:
        out["tfjs"] = read_tfjs(tfjs)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
