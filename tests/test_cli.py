"""python -m gdfast: the demo and the train command on svmlight files."""
import numpy as np
import pytest

from gdfast.__main__ import main, sparse_classification


def test_demo_runs_every_rule(capsys):
    main(["demo", "--steps", "20"])
    out = capsys.readouterr().out
    for name in ("SGD", "Adam", "AMSGrad", "gd.fit"):
        assert name in out


def test_train_on_svmlight_files(tmp_path, capsys):
    from sklearn.datasets import dump_svmlight_file
    X, y = sparse_classification(n_samples=3000, n_features=300)
    dump_svmlight_file(X[:2500], y[:2500], str(tmp_path / "train.svm"))
    dump_svmlight_file(X[2500:], y[2500:], str(tmp_path / "test.svm"))
    main(["train", str(tmp_path / "train.svm"), "--optimizer", "adagrad", "--lr", "0.1", "--epochs", "3",
          "--test", str(tmp_path / "test.svm"), "--out", str(tmp_path / "model.npz")])
    out = capsys.readouterr().out
    assert out.count("epoch ") == 3 and "test loss" in out and "test accuracy" in out
    accuracy = float(out.split("test accuracy")[1].split()[0])
    assert accuracy > 0.75
    with np.load(tmp_path / "model.npz", allow_pickle=False) as saved:
        assert saved["coef"].shape == (1, 300)
        np.testing.assert_array_equal(saved["classes"], [0, 1])


def test_train_rejects_unknown_optimizer(tmp_path):
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path / "x.svm"), "--optimizer", "adamw"])
