"""Model-given detectors: a signal's learned detector that judges only the turns where another signal is found
(justification given refusal: is this refusal explained?), from the signal file to the matcher and `train`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from servicecheck.detect import linear
from servicecheck.signals import ModelSpec, SignalDef, SignalMatcher
from servicecheck.text.normalize import normalize
from servicecheck.train import TurnExample, set_given_block

EXPLAINED = ["we can't refund it, the order has already shipped", "we can't change the date, the fare is fixed",
             "we can't reopen it, the account was closed last year", "we can't send another, the offer has ended",
             "we can't swap it, the item was opened", "we can't extend it, the warranty ran out in may"]
BARE = ["we can't refund it.", "we can't change the date, sorry.", "no, we can't reopen it.",
        "we can't send another one, sorry about that.", "we can't swap it, sorry.", "we can't extend it."]


def _given_model(tmp_path: Path) -> Path:
    docs = [linear.features(normalize(t).text) for t in EXPLAINED * 3 + BARE * 3]
    model = linear.train(docs, [True] * 18 + [False] * 18, "justification", "en", linear.TrainParams(min_count=1))
    path = tmp_path / "justification.given-refusal.en.json"
    model.save(path)
    return path


def _matcher(tmp_path: Path) -> SignalMatcher:
    refusal = SignalDef("refusal", "agent", "d", {"en": ("we cant",)})
    justification = SignalDef("justification", "agent", "d", {"en": ("because",)},
                              given_models={"refusal": {"en": ModelSpec(str(_given_model(tmp_path)), 0.5)}})
    return SignalMatcher({"refusal": refusal, "justification": justification})


def test_the_given_model_judges_only_turns_where_the_other_signal_is_found(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    explained = m.match("We can't swap it, the item was opened last week.", "agent", "en")
    assert explained["justification"].pattern.startswith("model p=")
    assert explained["justification"].pattern.endswith("given refusal")
    assert "justification" not in m.match("We can't swap it, sorry.", "agent", "en")  # a bare refusal
    # the same reason without a refusal: the detector does not run
    assert "justification" not in m.match("The item was opened last week.", "agent", "en")
    # a pattern hit stays the evidence
    assert not m.match("We can't, because it shipped.", "agent", "en")["justification"].pattern.startswith("model")
    # a customer turn: an agent signal
    assert m.match("We can't swap it, the item was opened.", "customer", "en") == {}


def test_the_other_signal_is_found_when_only_this_one_is_asked_for(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    found = m.match("We can't swap it, the item was opened.", "agent", "en", only=frozenset({"justification"}))
    assert set(found) == {"justification"}  # refusal was needed, not asked: left out of the answer
    assert m.match("We can't swap it, the item was opened.", "agent", "en", only=frozenset({"refusal"})).keys() == {
        "refusal"}


def test_explain_names_the_other_signal(tmp_path: Path) -> None:
    hits = _matcher(tmp_path).explain("We can't swap it, the item was opened.", "agent", "en")
    assert any(h.signal == "justification" and "given refusal (" in h.pattern for h in hits)


def test_documents_never_run_it(tmp_path: Path) -> None:
    assert "justification" not in _matcher(tmp_path).match("We can't swap it, the item was opened.", "agent", "en",
                                                            kind="template")


def _pack(tmp_path: Path, given_block: str) -> Path:
    pack = tmp_path / "p"
    (pack / "signals").mkdir(parents=True)
    (pack / "models").mkdir()
    (pack / "pack.yaml").write_text("name: p\nversion: '1'\n", encoding="utf-8")
    (pack / "signals" / "refusal.yaml").write_text("speaker: agent\ndescription: d\npatterns: {en: [we cannot]}\n",
                                                   encoding="utf-8")
    (pack / "signals" / "moan.yaml").write_text("speaker: customer\ndescription: d\npatterns: {en: [this is bad]}\n",
                                                encoding="utf-8")
    (pack / "signals" / "justification.yaml").write_text(
        "speaker: agent\ndescription: d\npatterns: {en: [because]}\n" + given_block, encoding="utf-8")
    return pack


@pytest.mark.parametrize(("block", "expected"), [
    ("model-given:\n  refusal:\n    en: {file: models/nothing.json, threshold: 0.5}\n",
     "justification.yaml:6:16: $.model-given.refusal.en.file: "),
    ("model-given:\n  refusl:\n    en: {file: models/j.json, threshold: 0.5}\n",
     "justification.yaml:6:5: $.model-given.refusl: no signal 'refusl' in this pack"),
    ("model-given:\n  moan:\n    en: {file: models/j.json, threshold: 0.5}\n",
     "justification.yaml:6:5: $.model-given.moan: signal 'moan' is for customer turns, 'justification' for agent"),
    ("model-given:\n  refusal:\n    en: {file: models/j.json, threshold: 1.5}\n", "justification.yaml:6:"),
])
def test_a_bad_model_given_block_is_a_located_pack_error(tmp_path: Path, block: str, expected: str) -> None:
    from servicecheck.errors import PolicyError
    from servicecheck.policy.loader import load_policies

    pack = _pack(tmp_path, block)
    _given_model(tmp_path).rename(pack / "models" / "j.json")
    with pytest.raises(PolicyError) as err:
        load_policies([str(pack)], include_default=False)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_a_pack_with_a_model_given_block_loads_it(tmp_path: Path) -> None:
    from servicecheck.policy.loader import load_policies

    pack = _pack(tmp_path, "model-given:\n  refusal:\n    en: {file: models/j.json, threshold: 0.5}\n")
    _given_model(tmp_path).rename(pack / "models" / "j.json")
    sig = load_policies([str(pack)], include_default=False).signals["justification"]
    assert sig.models == {} and sig.given_models["refusal"]["en"] == ModelSpec(str(pack / "models" / "j.json"), 0.5)


def test_the_default_pack_ships_justification_given_refusal() -> None:
    from servicecheck.policy.loader import load_policies

    given = load_policies().signals["justification"].given_models["refusal"]
    assert set(given) == {"en", "fr"}
    for lang, spec in given.items():
        model = linear.load(Path(spec.file))
        assert model.signal == "justification" and model.language == lang and 0 < spec.threshold < 1


@pytest.mark.parametrize(("before", "models", "after"), [
    # inserted after the model block, replaced where it stands, removed
    ("speaker: agent\nmodel:\n  en: {file: a.json, threshold: 0.5}\nexamples: {}\n",
     {"refusal": {"en": ("models/x.json", 0.6)}},
     "speaker: agent\nmodel:\n  en: {file: a.json, threshold: 0.5}\nmodel-given:\n  refusal:\n"
     "    en: {file: models/x.json, threshold: 0.6}\nexamples: {}\n"),
    ("speaker: agent\nmodel-given:\n  refusal:\n    en: {file: old.json, threshold: 0.9}\nexamples: {}\n",
     {"refusal": {"en": ("models/x.json", 0.6), "fr": ("models/y.json", 0.7)}},
     "speaker: agent\nmodel-given:\n  refusal:\n    en: {file: models/x.json, threshold: 0.6}\n"
     "    fr: {file: models/y.json, threshold: 0.7}\nexamples: {}\n"),
    ("speaker: agent\nmodel-given:\n  refusal:\n    en: {file: old.json, threshold: 0.9}\nexamples: {}\n", {},
     "speaker: agent\nexamples: {}\n"),
    ("speaker: agent\nexamples: {}\n", {}, "speaker: agent\nexamples: {}\n"),
    ("speaker: agent\nexamples: {}\n", {"refusal": {"en": ("m.json", 0.5)}},
     "speaker: agent\nmodel-given:\n  refusal:\n    en: {file: m.json, threshold: 0.5}\nexamples: {}\n"),
])
def test_set_given_block(before: str, models: dict, after: str) -> None:
    assert set_given_block(before, models) == after
    yaml.safe_load(after)


def test_train_fits_the_declared_model_given_detectors_and_writes_them(tmp_path: Path) -> None:
    from servicecheck.policy.loader import load_policies
    from servicecheck.train import _base_models, train_models, write_pack

    pack = _pack(tmp_path, "model-given:\n  refusal:\n    en: {file: models/j.json, threshold: 0.5}\n")
    _given_model(tmp_path).rename(pack / "models" / "j.json")
    policyset = load_policies([str(pack)], include_default=False)
    examples = [TurnExample(f"c{i}-{k}", "en", "agent", text.replace("can't", "cannot"), tags)
                for i in range(6) for k, (text, tags) in enumerate(
                    [(t, ("REFUSAL", "JUSTIFICATION")) for t in EXPLAINED] + [(t, ("REFUSAL",)) for t in BARE]
                    + [("the item was opened", ()), ("hello there", ())] * 3)]
    reports = list(train_models(examples, policyset, linear.TrainParams(min_count=1), min_gain=0.0))
    given = [r for r in reports if r.given]
    assert [(r.signal, r.given, r.language) for r in given] == [("justification", "refusal", "en")]
    assert given[0].turns == 72 and given[0].positives == 36  # the refusal turns alone
    assert given[0].threshold is not None and given[0].f1_combined > given[0].f1_patterns
    out = tmp_path / "out"
    write_pack(pack, out, reports, examples)
    data = yaml.safe_load((out / "signals" / "justification.yaml").read_text(encoding="utf-8"))
    assert data["model-given"]["refusal"]["en"]["file"] == "models/justification.given-refusal.en.json"
    assert ("justification", "refusal", "en", "models/justification.given-refusal.en.json",
            given[0].threshold) in list(_base_models(out))
    assert load_policies([str(out)], include_default=False).signals["justification"].given_models["refusal"]["en"]
