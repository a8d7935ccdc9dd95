"""Model resolution fails fast with one message; tiny BERT and DistilBERT build from the embedded vocabulary."""

import time
from types import SimpleNamespace

import pytest

from harness import models
from harness.errors import ModelError


def test_embedded_model_aliases_resolve_locally():
    for alias in ("minilm", "sentence-transformers/all-MiniLM-L6-v2"):
        ref = models.resolve_model(alias)
        assert ref.kind == "embedded" and ref.name == "minilm"


def test_local_directory_and_missing_directory(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert models.resolve_model(str(tmp_path)).kind == "local"
    with pytest.raises(ModelError, match="does not exist"):
        models.resolve_model(str(tmp_path / "absent"))


def test_unknown_model_offline_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(ModelError, match=r"unknown model 'nobody/no-such-model'.*HF_HUB_OFFLINE"):
        models.resolve_model("nobody/no-such-model")
    assert time.perf_counter() - started < 2


def test_unknown_model_online_asks_the_hub_once(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    asked = []

    def model_info(model_id, timeout):
        asked.append((model_id, timeout))
        raise RepositoryNotFoundError("404", response=SimpleNamespace(headers={}, request=None))

    monkeypatch.setattr(huggingface_hub, "model_info", model_info)
    with pytest.raises(ModelError, match="no such model on the hub"):
        models.resolve_model("nobody/no-such-model")
    assert asked == [("nobody/no-such-model", models.HUB_PROBE_TIMEOUT_S)]


@pytest.mark.parametrize("name, model_type", [("tiny-bert", "bert"), ("tiny-distilbert", "distilbert")])
def test_tiny_models_build_reproducibly(name, model_type):
    ref = models.resolve_model(name)
    first = models.build_classifier(ref, 3, ["a", "b", "c"], seed=7)
    again = models.build_classifier(ref, 3, ["a", "b", "c"], seed=7)
    assert first.config.model_type == model_type and first.config.num_labels == 3
    assert first.config.vocab_size == len(models.load_tokenizer(ref))
    assert all((p == q).all() for p, q in zip(first.parameters(), again.parameters()))
