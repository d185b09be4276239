#!/usr/bin/env python3
"""Train a small MLP with PyTorch on the preprocessed split (mlpipe step contract:
params as env vars, outputs in the artifacts workspace, results to the Tekton result files)."""
import hashlib
import os

import pyarrow as pa
import torch
from torch import nn

dataset = os.environ["DATASET_URI"].removeprefix("file://")
epochs = int(os.environ["EPOCHS"])
lr = float(os.environ["LEARNING_RATE"])
hidden = int(os.environ["HIDDEN_UNITS"])
torch.manual_seed(int(os.environ["SEED"]))
device = "cuda" if torch.cuda.is_available() else "cpu"

# An Arrow IPC file: `features` (fixed-size list of float32 per row) and `label` (class index into schema.json).
train = pa.ipc.open_file(os.path.join(dataset, "train.arrow")).read_all()
features = train.column("features").combine_chunks()
y = torch.tensor(train.column("label").to_numpy(), dtype=torch.long, device=device)
x = torch.tensor(features.flatten().to_numpy().reshape(len(train), features.type.list_size), dtype=torch.float32, device=device)
model = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, int(y.max()) + 1)).to(device)
opt = torch.optim.Adam(model.parameters(), lr=lr)
for epoch in range(epochs):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    print(f"epoch {epoch + 1}/{epochs} loss {loss.item():.4f}", flush=True)

out = "$(workspaces.artifacts.path)/model"
os.makedirs(out, exist_ok=True)
path = os.path.join(out, "model.pt")
torch.save(model.state_dict(), path)
digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
open("$(results.model-uri.path)", "w").write("file://" + out)
open("$(results.model-digest.path)", "w").write("sha256:" + digest)
