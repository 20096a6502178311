"""The PyTorch reference of `npm run bench:train`: the same MLP, initial weights, rows and recipe
(Adam lr 1e-3, batch 32) as fedledger's trainer, plain and DP-SGD (Opacus), on the CPU with a
pinned thread count. Reads the folder the bench writes, prints one JSON object.

Usage: train-reference.py DIR --threads N --mode plain|dp-sgd
"""

import argparse
import json
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--mode", choices=["plain", "dp-sgd"], required=True)
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    meta = json.load(open(os.path.join(args.folder, "meta.json")))
    d, classes = meta["featureDim"], meta["classes"]

    def floats(name, shape):
        return torch.from_numpy(np.fromfile(os.path.join(args.folder, name), dtype="<f4").reshape(shape))

    def labels(name):
        return torch.from_numpy(np.fromfile(os.path.join(args.folder, name), dtype="<i4").astype("int64"))

    x = floats("train-x.f32", (meta["rows"], d))
    y = labels("train-y.i32")
    hx = floats("heldout-x.f32", (meta["heldoutRows"], d))
    hy = labels("heldout-y.i32")

    layers = []
    inputs = d
    for i, layer in enumerate(meta["layers"]):
        linear = torch.nn.Linear(inputs, layer["units"])
        with torch.no_grad():
            # fedledger stores kernels as [inputs, units]; torch.nn.Linear's weight is [units, inputs].
            linear.weight.copy_(floats(f"w{i}.f32", (inputs, layer["units"])).T)
            linear.bias.copy_(floats(f"b{i}.f32", (layer["units"],)))
        layers.append(linear)
        if layer["activation"] == "relu":
            layers.append(torch.nn.ReLU())
        elif layer["activation"] != "softmax":
            print(f"unsupported activation {layer['activation']}", file=sys.stderr)
            return 2
        inputs = layer["units"]
    model = torch.nn.Sequential(*layers)  # logits; the softmax is inside the loss
    # Keras's and TensorFlow.js's Adam use ε = 1e-7; match it.
    optimizer = torch.optim.Adam(model.parameters(), lr=meta["learningRate"], eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    batch, epochs = meta["batchSize"], meta["epochs"]

    if args.mode == "plain":
        started = time.perf_counter()
        for _ in range(epochs):
            order = torch.randperm(meta["rows"])
            ex, ey = x[order], y[order]
            for start in range(0, meta["rows"], batch):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(ex[start : start + batch]), ey[start : start + batch])
                loss.backward()
                optimizer.step()
        elapsed = time.perf_counter() - started
    else:
        from opacus import PrivacyEngine

        dataset = torch.utils.data.TensorDataset(x, y)
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch)
        engine = PrivacyEngine(accountant="rdp")
        model, optimizer, loader = engine.make_private(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=meta["noiseMultiplier"],
            max_grad_norm=meta["clipNorm"],
            poisson_sampling=True,
        )
        started = time.perf_counter()
        for _ in range(epochs):
            for bx, by in loader:
                optimizer.zero_grad(set_to_none=True)
                if len(by) > 0:
                    loss_fn(model(bx), by).backward()
                optimizer.step()
        elapsed = time.perf_counter() - started

    with torch.no_grad():
        heldout_loss = float(loss_fn(model(hx), hy))
    print(
        json.dumps(
            {
                "framework": f"torch {torch.__version__}",
                "mode": args.mode,
                "threads": args.threads,
                "samplesPerSecond": meta["rows"] * epochs / elapsed,
                "heldoutLoss": heldout_loss,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
