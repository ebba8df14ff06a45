"""Trains the churn classifier: a logistic regression on the CSV files of --data.

The example's point is what runs after it (see job.yml): the job records the environment
it ran in, so that the model can later be traced to the exact packages it was trained with.
"""
import argparse
import glob
import os

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder of CSV files with a `churned` column")
    ap.add_argument("--model-dir", required=True)
    a = ap.parse_args()
    frames = [pd.read_csv(p) for p in sorted(glob.glob(os.path.join(a.data, "*.csv")))]
    data = pd.concat(frames)
    y = data.pop("churned")
    model = LogisticRegression(max_iter=1000).fit(data, y)
    os.makedirs(a.model_dir, exist_ok=True)
    joblib.dump(model, os.path.join(a.model_dir, "model.joblib"))
    print(f"trained on {len(data)} rows, accuracy {model.score(data, y):.3f}")


if __name__ == "__main__":
    main()
