"""The learned layer: features, training, model files, the bank, and how model hits combine with patterns."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecheck.detect import linear
from servicecheck.signals import ModelSpec, SignalDef, SignalMatcher
from servicecheck.text.normalize import normalize


def test_features_are_tokens_and_pairs_each_once_with_numbers_folded() -> None:
    feats = linear.features(normalize("Still no code after 2 days, still no code").text)
    assert "still" in feats and "no code" in feats and "<num> days" in feats and "<s> still" in feats
    assert len(feats) == len(set(feats))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_features_never_fail_and_are_deterministic(text: str) -> None:
    norm = normalize(text)
    assert linear.features(norm.text) == linear.features(norm.text)
    # the matcher passes the tokens it already has; the features are the same
    assert linear.features(norm.text, [tok for tok, _s, _e in norm.tokens]) == linear.features(norm.text)


def _toy() -> tuple[list[list[str]], list[bool]]:
    pos = ["my parcel never arrived", "still no refund after two weeks", "the app crashes again",
           "parcel missing again", "no refund yet", "it crashes every time"]
    neg = ["what are your opening hours", "can i change my address", "how do i reset my password",
           "do you ship to canada", "what time do you open", "can i pay by card"]
    docs = [linear.features(normalize(t).text) for t in pos * 3 + neg * 3]
    return docs, [True] * 18 + [False] * 18


@pytest.mark.parametrize(("speakers", "texts", "expected"), [
    # an exchange: each speaker's first turn, a turn that goes on, an answer to a question
    (["customer", "customer", "agent", "customer"], ["hi", "my order is late", "Which order?", "123"],
     [("ctx:first",), ("ctx:same-speaker",), ("ctx:first",), ("ctx:after-question",)]),
    # a lone message (a tweet, a template) has no first turn to tell apart
    (["customer"], ["still no refund"], [()]),
    (["agent", "agent"], ["Hello", "How can I help?"], [(), ("ctx:same-speaker",)]),
])
def test_turn_contexts(speakers: list[str], texts: list[str], expected: list[tuple[str, ...]]) -> None:
    assert linear.turn_contexts(speakers, texts) == expected


def test_training_separates_the_classes_and_is_deterministic() -> None:
    docs, labels = _toy()
    params = linear.TrainParams(min_count=1)
    model = linear.train(docs, labels, "complaint", "en", params)
    again = linear.train(docs, labels, "complaint", "en", params)
    assert model.weights == again.weights and model.bias == again.bias
    assert model.probability(linear.features("still no parcel")) > 0.5
    assert model.probability(linear.features("what are your opening hours")) < 0.5


def test_training_with_one_class_gives_a_prior_only_model() -> None:
    docs, _ = _toy()
    model = linear.train(docs, [False] * len(docs), "complaint", "en")
    assert model.weights == {} and model.probability(["anything"]) < 0.1


def test_model_file_round_trip(tmp_path: Path) -> None:
    docs, labels = _toy()
    model = linear.train(docs, labels, "complaint", "en", linear.TrainParams(min_count=1))
    path = tmp_path / "m" / "complaint.en.json"
    model.save(path)
    loaded = linear.load(path)
    feats = linear.features("parcel missing")
    assert loaded.probability(feats) == pytest.approx(model.probability(feats), abs=1e-4)


@pytest.mark.parametrize(
    "content, reason",
    [
        ("{", "invalid JSON"),
        ('{"format": "other"}', "expected format"),
        ('{"format": "servicecheck-linear/1", "bias": 0}', "lacks"),
        ('{"format": "servicecheck-linear/1", "bias": 0, "weights": {"a": "x"}}', "numbers"),
        ('{"format": "servicecheck-linear/1", "bias": 0, "weights": {"a": 1e999}}', "finite"),
    ],
)
def test_bad_model_files_are_refused_with_a_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(linear.ModelError, match=reason):
        linear.load(path)


def test_missing_model_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(linear.ModelError, match="cannot read"):
        linear.load(tmp_path / "nope.json")


def test_bank_scores_every_signal_like_each_model_alone() -> None:
    docs, labels = _toy()
    a = linear.train(docs, labels, "complaint", "en", linear.TrainParams(min_count=1))
    b = linear.train(docs, [not x for x in labels], "question", "en", linear.TrainParams(min_count=1))
    bank = linear.ModelBank({"complaint": a, "question": b})
    feats = linear.features("my parcel never arrived, can i get a refund")
    probs = bank.probabilities(feats)
    assert probs["complaint"] == pytest.approx(a.probability(feats))
    assert probs["question"] == pytest.approx(b.probability(feats))
    top = bank.top_features("complaint", feats, k=3)
    assert top and all(w > 0 for _f, w in top) and top == sorted(top, key=lambda fw: -fw[1])


def _matcher(tmp_path: Path, exceptions: tuple[str, ...] = (), negation: str = "none") -> SignalMatcher:
    docs, labels = _toy()
    model = linear.train(docs, labels, "complaint", "en", linear.TrainParams(min_count=1))
    path = tmp_path / "complaint.en.json"
    model.save(path)
    sig = SignalDef("complaint", "customer", "test", {"en": ("this is unacceptable",)},
                    exceptions={"en": exceptions} if exceptions else {}, negation=negation,
                    models={"en": ModelSpec(str(path), 0.5)})
    return SignalMatcher({"complaint": sig})


def test_a_turn_carries_the_signal_by_pattern_or_by_model(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    by_pattern = m.match("This is unacceptable.", "customer", "en")["complaint"]
    assert not by_pattern.pattern.startswith("model")
    by_model = m.match("Hello. My parcel never arrived!", "customer", "en")["complaint"]
    assert by_model.pattern.startswith("model p=")
    text = "Hello. My parcel never arrived!"
    assert text[by_model.start:by_model.end] == "My parcel never arrived!"  # the sentence of the strongest words
    assert "complaint" not in m.match("What are your opening hours?", "customer", "en")
    assert "complaint" not in m.match("My parcel never arrived!", "agent", "en")  # a customer signal


def test_models_do_not_run_on_documents(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    assert "complaint" not in m.match("My parcel never arrived!", "customer", "en", kind="template")


def test_an_exception_vetoes_a_model_hit_in_its_sentence(tmp_path: Path) -> None:
    m = _matcher(tmp_path, exceptions=("never arrived",))
    assert "complaint" not in m.match("My parcel never arrived!", "customer", "en")
    misses = m.near_misses("My parcel never arrived!", "customer", "en", "transcript", "complaint")
    assert any(h.pattern.startswith("model") for h in misses)


def test_explain_names_the_probability_and_the_words(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    hits = m.explain("My parcel never arrived!", "customer", "en")
    assert hits and hits[0].pattern.startswith("model p=") and "parcel" in hits[0].pattern


def test_the_matcher_pickles_without_its_loaded_models(tmp_path: Path) -> None:
    import pickle

    m = _matcher(tmp_path)
    m.match("My parcel never arrived!", "customer", "en")
    again = pickle.loads(pickle.dumps(m))
    assert "_banks" not in again.__dict__
    assert again.match("My parcel never arrived!", "customer", "en")["complaint"].pattern.startswith("model")


def test_default_pack_declares_models_that_load() -> None:
    from servicecheck.policy.loader import load_policies

    policyset = load_policies()
    declared = [(n, lang, spec) for n, s in policyset.signals.items() for lang, spec in s.models.items()]
    assert declared, "the default pack ships learned detectors"
    for name, lang, spec in declared:
        model = linear.load(Path(spec.file))
        assert model.signal == name and model.language == lang and 0 < spec.threshold < 1


def test_a_missing_model_file_is_a_located_pack_error(tmp_path: Path) -> None:
    from servicecheck.errors import PolicyError
    from servicecheck.policy.loader import load_policies

    pack = tmp_path / "p"
    (pack / "signals").mkdir(parents=True)
    (pack / "pack.yaml").write_text("name: p\nversion: '1'\n", encoding="utf-8")
    (pack / "signals" / "moan.yaml").write_text(
        "speaker: customer\ndescription: d\npatterns: {en: [this is bad]}\n"
        "model:\n  en: {file: models/moan.en.json, threshold: 0.5}\n", encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policies([str(pack)], include_default=False)
    assert any("moan.yaml:5:" in p and "$.model.en.file" in p and "cannot read model" in p for p in err.value.problems)


def _registers() -> tuple[list, list[bool]]:
    """Complaint turns of two registers: in "written" the patterns find every complaint, in "real" none."""
    from servicecheck.train import TurnExample

    pos = ["my parcel never arrived", "still no refund after two weeks", "the app crashes again",
           "parcel missing again", "no refund yet", "it crashes every time"]
    neg = ["what are your opening hours", "can i change my address", "how do i reset my password",
           "do you ship to canada", "what time do you open", "can i pay by card"]
    examples, hits = [], []
    for register in ("written", "real"):
        for i in range(8):
            for text, gold in [(t, True) for t in pos] + [(t, False) for t in neg]:
                examples.append(TurnExample(f"{register}-{i}", "en", "customer", text,
                                            ("COMPLAINT",) if gold else (), register))
                hits.append(gold and register == "written")
    return examples, hits


def test_thresholds_are_chosen_on_the_mean_over_registers_and_the_model_fitted_on_all() -> None:
    from servicecheck.train import train_signal

    examples, hits = _registers()
    params = linear.TrainParams(min_count=1)
    together = train_signal("complaint", "en", examples, hits, params)
    both = train_signal("complaint", "en", examples, hits, params, judged=lambda ex: ex.source)
    real = train_signal("complaint", "en", examples, hits, params,
                        judged=lambda ex: "real" if ex.source == "real" else None)
    assert together.registers == () and both.registers == ("real", "written") and real.registers == ("real",)
    # the patterns alone: half the complaints over all turns (F1 2/3); per register 1.0 and 0.0
    assert together.f1_patterns == pytest.approx(2 / 3)
    assert both.f1_patterns == pytest.approx(0.5) and real.f1_patterns == 0.0
    for report in (together, both, real):
        assert report.threshold is not None and report.f1_combined > 0.9
        assert report.model is not None and report.model.weights == together.model.weights  # fitted on every turn


def test_registers_with_too_few_positives_are_not_judged() -> None:
    from servicecheck.train import MIN_POSITIVES, train_signal

    examples, hits = _registers()
    params = linear.TrainParams(min_count=1)
    few = {id(ex) for ex in [e for e in examples if e.tags][: MIN_POSITIVES - 1]}
    report = train_signal("complaint", "en", examples, hits, params,
                          judged=lambda ex: "few" if id(ex) in few else None)
    assert report == train_signal("complaint", "en", examples, hits, params)
