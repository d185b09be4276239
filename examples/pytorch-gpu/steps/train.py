#!/usr/bin/env python3
"""Train a small MLP with PyTorch on the preprocessed split (mlpipe step contract:
params as env vars, outputs in the artifacts workspace, results to the Tekton result files)."""
import hashlib
import os

import pandas as pd
import torch
from torch import nn

dataset = os.environ["DATASET_URI"].removeprefix("file://")
epochs = int(os.environ["EPOCHS"])
lr = float(os.environ["LEARNING_RATE"])
hidden = int(os.environ["HIDDEN_UNITS"])
torch.manual_seed(int(os.environ["SEED"]))
device = "cuda" if torch.cuda.is_available() else "cpu"

train = pd.read_csv(os.path.join(dataset, "train.csv"))
y = torch.tensor(train.pop("label").to_numpy(), dtype=torch.long, device=device)
x = torch.tensor(train.to_numpy(), dtype=torch.float32, device=device)
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
