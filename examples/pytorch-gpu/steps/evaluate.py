#!/usr/bin/env python3
"""Score the model with scikit-learn metrics and write the gate results."""
import json
import operator
import os

import pyarrow as pa
import torch
from sklearn.metrics import accuracy_score, f1_score

dataset = os.environ["DATASET_URI"].removeprefix("file://")
model_dir = os.environ["MODEL_URI"].removeprefix("file://")
ops = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}

test = pa.ipc.open_file(os.path.join(dataset, "test.arrow")).read_all()
features = test.column("features").combine_chunks()
y = test.column("label").to_numpy()
state = torch.load(os.path.join(model_dir, "model.pt"), map_location="cpu")
weights = [v for k, v in sorted(state.items())]
x = torch.tensor(features.flatten().to_numpy().reshape(len(test), features.type.list_size), dtype=torch.float32)
hidden = torch.relu(x @ weights[1].T + weights[0])
pred = (hidden @ weights[3].T + weights[2]).argmax(dim=1).numpy()

metrics = {"accuracy": accuracy_score(y, pred), "f1": f1_score(y, pred, average="macro")}
value = metrics[os.environ["METRIC"]]
passed = ops[os.environ["OPERATOR"]](value, float(os.environ["THRESHOLD"]))
out = "$(workspaces.artifacts.path)/metrics"
os.makedirs(out, exist_ok=True)
json.dump(metrics, open(os.path.join(out, "metrics.json"), "w"))
open("$(results.accuracy.path)", "w").write(str(metrics["accuracy"]))
open("$(results.metric-value.path)", "w").write(str(value))
open("$(results.passed.path)", "w").write(str(passed).lower())
open("$(results.metrics-uri.path)", "w").write("file://" + out)
