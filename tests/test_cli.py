"""python -m gdfast: the demo, the plot command and the train command on svmlight files."""
import numpy as np
import pytest

import gdfast as gd

from gdfast.cli import main, sparse_classification


def test_quick_demo_runs_every_part(tmp_path, capsys):
    """Every rule in both modes, Hogwild!, the BatchNorm comparison and the pictures, on small sizes."""
    from PIL import Image
    main(["demo", "--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    for rule in gd.RULES.values():
        assert sum(line.startswith(f"| {rule.class_name} |") for line in out.splitlines()) == 2, rule.name
    assert "(b) Hogwild!" in out and "(c) Batch normalization" in out
    assert (tmp_path / "results.md").read_text().startswith("# gdfast demo")
    for name in ("beale.png", "saddle.png", "beale.gif", "saddle.gif"):
        with Image.open(tmp_path / name) as image:
            assert image.size[0] > 100


def test_plot_command_writes_the_pictures(tmp_path, capsys):
    main(["plot", "ravine", "--optimizers", "sgd", "adam", "--steps", "10", "--out", str(tmp_path)])
    assert (tmp_path / "ravine.png").stat().st_size > 1000 and (tmp_path / "ravine.gif").exists()
    assert capsys.readouterr().out.count("wrote") == 2
    with pytest.raises(SystemExit):
        main(["plot", "ravine", "--steps", "0"])


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
