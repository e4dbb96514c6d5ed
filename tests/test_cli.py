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


def _files(tmp_path):
    """train.svm.gz (2500 rows) and test.svm (500), 0-based as scikit-learn writes them by default."""
    import gzip
    from sklearn.datasets import dump_svmlight_file
    X, y = sparse_classification(n_samples=3000, n_features=300)
    dump_svmlight_file(X[:2500], y[:2500], str(tmp_path / "train.svm"))
    with open(tmp_path / "train.svm", "rb") as f, gzip.open(tmp_path / "train.svm.gz", "wb") as g:
        g.write(f.read())
    dump_svmlight_file(X[2500:], y[2500:], str(tmp_path / "test.svm"))
    return str(tmp_path / "train.svm.gz"), str(tmp_path / "test.svm")


def test_train_streams_svmlight_files(tmp_path, capsys):
    train, test = _files(tmp_path)
    main(["train", train, "--optimizer", "adagrad", "--lr", "0.1", "--passes", "3", "--chunk-rows", "500",
          "--test", test, "--out", str(tmp_path / "model.npz")])
    out = capsys.readouterr().out
    assert "300 features (0-based)" in out
    assert sum(line.startswith("pass ") for line in out.splitlines()) == 3 and "progressive loss" in out and "validation loss" in out and "rows/s" in out
    assert float(out.split("test accuracy")[1].split()[0]) > 0.75
    model = gd.load(tmp_path / "model.npz")
    assert model.coef_.shape == (1, 300) and len(model.history_) == 3
    np.testing.assert_array_equal(model.classes_, [0, 1])


def test_train_holds_out_and_continues_a_checkpoint(tmp_path, capsys):
    """--holdout-period gives each pass a validation loss; --init continues a saved model exactly as one longer
    run (one thread)."""
    train, _ = _files(tmp_path)
    common = ["--holdout-period", "10", "--threads", "1", "--n-features", "300", "--zero-based"]
    main(["train", train, "--passes", "3", "--out", str(tmp_path / "once.npz"), *common])
    main(["train", train, "--passes", "2", "--out", str(tmp_path / "first.npz"), *common])
    main(["train", train, "--passes", "1", "--init", str(tmp_path / "first.npz"), "--out",
          str(tmp_path / "then.npz"), *common])
    out = capsys.readouterr().out
    assert out.count("validation loss") == 6 and "continuing" in out
    once, then = gd.load(tmp_path / "once.npz"), gd.load(tmp_path / "then.npz")
    np.testing.assert_array_equal(then.coef_, once.coef_)
    assert len(then.history_) == 3


def test_train_refuses_a_missing_file_and_a_malformed_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path / "missing.svm")])
    assert "missing.svm" in capsys.readouterr().err
    (tmp_path / "bad.svm").write_text("1 1:0.5\n0 2:x\n")
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path / "bad.svm"), "--n-features", "4"])
    assert "bad.svm, line 2" in capsys.readouterr().err


def test_train_rejects_unknown_optimizer(tmp_path):
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path / "x.svm"), "--optimizer", "adamw"])
