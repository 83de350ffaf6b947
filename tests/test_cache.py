"""Tests of the pack cache: a hit equals a fresh load, and every change to a pack file misses."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from servicecheck import api
from servicecheck.errors import PolicyError
from servicecheck.policy import cache
from servicecheck.policy.loader import load_policies
from servicecheck.signals import SignalMatcher

PACK = {
    "pack.yaml": 'name: cachetest\nversion: "1.0.0"\ndescription: A pack for the cache tests.\nlanguages: [fr, en]\n',
    "signals/thank.yaml": (
        "speaker: agent\ndescription: Thanks.\npatterns:\n  en: [\"(thanks|thank you)\"]\n  fr: [\"merci\"]\n"
    ),
    "always-thank.yaml": (
        "title: Thank the customer\nseverity: warning\nweight: 1\napplies-to: [transcript, template]\n"
        "rule:\n  kind: require\n  signal: thank\n  speaker: agent\nmessage: \"No thanks ({window}).\"\n"
    ),
}

SORRY = "speaker: agent\ndescription: Apologies.\npatterns:\n  en: [\"sorry\"]\n  fr: [\"desole\"]\n"


def write_pack(root: Path, files: dict[str, str] = PACK) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SERVICECHECK_CACHE_DIR", str(folder))
    monkeypatch.delenv("SERVICECHECK_NO_CACHE", raising=False)
    return folder


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "pack")


class Counter:
    """Counts the real loads behind the cache."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        import servicecheck.policy.loader as loader

        real = loader.load_policies

        def counting(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(loader, "load_policies", counting)


def load(pack: Path) -> object:
    return cache.load_policies_cached([str(pack)], include_default=False)


def test_hit_equals_fresh_load(cache_dir: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Counter(monkeypatch)
    first = load(pack)
    second = load(pack)
    assert counter.calls == 1
    fresh = load_policies([str(pack)], include_default=False)
    for got in (first, second):
        assert got.policies == fresh.policies
        assert got.signals == fresh.signals
        assert got.fingerprint() == fresh.fingerprint()
    assert len(list(cache_dir.glob("policyset-*.pickle"))) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: (p / "signals/thank.yaml").write_text(
            PACK["signals/thank.yaml"].replace("merci", "merci beaucoup"), encoding="utf-8"), id="edit a signal"),
        pytest.param(lambda p: (p / "signals/sorry.yaml").write_text(SORRY, encoding="utf-8"), id="add a signal"),
        pytest.param(lambda p: (p / "always-thank.yaml").write_text(
            PACK["always-thank.yaml"].replace("warning", "error"), encoding="utf-8"), id="edit a policy"),
        pytest.param(lambda p: (p / "always-thank.yaml").rename(p / "thank-always.yaml"), id="rename a policy"),
        pytest.param(lambda p: (p / "pack.yaml").write_text(PACK["pack.yaml"].replace("1.0.0", "1.0.1"),
                                                             encoding="utf-8"), id="edit pack.yaml"),
    ],
)
def test_any_change_to_a_pack_file_misses(cache_dir: Path, pack: Path, monkeypatch: pytest.MonkeyPatch,
                                          change: object) -> None:
    counter = Counter(monkeypatch)
    before = load(pack)
    change(pack)  # type: ignore[operator]
    after = load(pack)
    assert counter.calls == 2
    fresh = load_policies([str(pack)], include_default=False)
    assert after.policies == fresh.policies and after.signals == fresh.signals
    assert (before.policies, before.signals, before.packs[0].version) != (
        after.policies, after.signals, after.packs[0].version)


def test_same_bytes_again_hits_even_after_a_rewrite(cache_dir: Path, pack: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Counter(monkeypatch)
    load(pack)
    (pack / "pack.yaml").write_text(PACK["pack.yaml"], encoding="utf-8")  # new mtime, same bytes
    load(pack)
    assert counter.calls == 1


def test_version_change_misses(cache_dir: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Counter(monkeypatch)
    load(pack)
    monkeypatch.setattr(cache, "__version__", "999.0.0")
    load(pack)
    assert counter.calls == 2


def test_pack_order_and_default_pack_are_part_of_the_key(tmp_path: Path, cache_dir: Path) -> None:
    a = write_pack(tmp_path / "a")
    b = write_pack(tmp_path / "b", {**PACK, "pack.yaml": PACK["pack.yaml"].replace("cachetest", "other")})
    keys = {cache.cache_key([str(a), str(b)], False), cache.cache_key([str(b), str(a)], False),
            cache.cache_key([str(a)], False), cache.cache_key([str(a)], True)}
    assert len(keys) == 4


def test_no_cache_env_writes_nothing(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SERVICECHECK_CACHE_DIR", str(folder))
    monkeypatch.setenv("SERVICECHECK_NO_CACHE", "1")
    counter = Counter(monkeypatch)
    load(pack)
    load(pack)
    assert counter.calls == 2
    assert cache.cache_dir() is None
    assert not folder.exists()


def test_cache_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVICECHECK_CACHE_DIR", raising=False)
    monkeypatch.delenv("SERVICECHECK_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "servicecheck"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cache.cache_dir() == Path.home() / ".cache" / "servicecheck"


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", pickle.dumps(("wrong key", "a string"))])
def test_a_corrupt_entry_is_rebuilt(cache_dir: Path, pack: Path, monkeypatch: pytest.MonkeyPatch,
                                    garbage: bytes) -> None:
    load(pack)
    (entry,) = cache_dir.glob("policyset-*.pickle")
    entry.write_bytes(garbage)
    counter = Counter(monkeypatch)
    got = load(pack)
    assert counter.calls == 1
    assert [p.id for p in got.policies] == ["cachetest.always-thank"]
    assert load(pack).policies == got.policies and counter.calls == 1  # rewritten


def test_an_unwritable_cache_dir_is_ignored(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("SERVICECHECK_CACHE_DIR", str(blocker / "cache"))
    assert [p.id for p in load(pack).policies] == ["cachetest.always-thank"]


def test_an_invalid_pack_is_reported_every_time_and_never_cached(cache_dir: Path, pack: Path) -> None:
    (pack / "always-thank.yaml").write_text(PACK["always-thank.yaml"].replace("warning", "eror"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(PolicyError, match="eror"):
            load(pack)
    assert not list(cache_dir.glob("policyset-*.pickle"))


def test_old_entries_are_pruned(cache_dir: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "KEEP", 2)
    for i in range(4):
        (pack / "pack.yaml").write_text(PACK["pack.yaml"].replace("1.0.0", f"1.0.{i}"), encoding="utf-8")
        load(pack)
        os.utime(next(iter(sorted(cache_dir.glob("policyset-*.pickle"), key=os.path.getmtime))), (i, i))
    assert len(list(cache_dir.glob("policyset-*.pickle"))) <= 2


def test_cached_matcher_matches_like_a_fresh_one(cache_dir: Path, pack: Path) -> None:
    write_pack(pack, {"signals/sorry.yaml": SORRY})
    ps = load_policies([str(pack)], include_default=False)
    fresh = SignalMatcher(ps.signals, ps.spellings, ps.negators)
    built = cache.signal_matcher(ps.signals, ps.spellings, ps.negators)
    hit = cache.signal_matcher(ps.signals, ps.spellings, ps.negators)
    assert len(list(cache_dir.glob("matcher-*.pickle"))) == 1
    texts = ["Thank you so much", "Merci et désolé", "sorry, thanks!", "rien", ""]
    for text in texts:
        for m in (built, hit):
            assert m.match(text, "agent", None) == fresh.match(text, "agent", None)
    assert pickle.loads(pickle.dumps(hit)).match("sorry", "agent", "en") == fresh.match("sorry", "agent", "en")


def test_a_cached_matcher_reads_each_signal_when_first_used(cache_dir: Path, pack: Path) -> None:
    write_pack(pack, {"signals/sorry.yaml": SORRY})
    ps = load_policies([str(pack)], include_default=False)
    fresh = SignalMatcher(ps.signals, ps.spellings, ps.negators)
    cache.signal_matcher(ps.signals, ps.spellings, ps.negators)
    hit = cache.signal_matcher(ps.signals, ps.spellings, ps.negators)
    assert all("_real" not in c.__dict__ for c in hit._compiled.values())  # nothing unpickled yet
    assert hit.match("Merci et désolé", "agent", "fr") == fresh.match("Merci et désolé", "agent", "fr")
    assert all("_real" not in c.__dict__ for (_name, lang), c in hit._compiled.items() if lang != "fr")
    for text in ("sorry, thanks!", "Merci et désolé"):  # explain reads the patterns kept apart by a fresh matcher
        assert hit.explain(text, "agent", None) == fresh.explain(text, "agent", None)


def test_a_cold_build_returns_the_entry_read_back(cache_dir: Path, pack: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A miss builds, writes, and returns what a hit would: nothing compiled until first used (its memory spared)."""
    write_pack(pack, {"signals/sorry.yaml": SORRY})
    ps = cache.load_policies_cached([str(pack)], include_default=False)
    built = cache.signal_matcher(ps.signals, ps.spellings, ps.negators)
    assert len(list(cache_dir.glob("matcher-*.pickle"))) == 1
    assert all(type(c) is cache._LazySignal for c in built._compiled.values())  # the read-back entry: unread
    fresh = SignalMatcher(ps.signals, ps.spellings, ps.negators)
    assert built.match("sorry, thanks!", "agent", None) == fresh.match("sorry, thanks!", "agent", None)
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("SERVICECHECK_CACHE_DIR", str(blocker / "cache"))  # cannot be written: the built one
    unwritten = cache.signal_matcher(ps.signals, ps.spellings, ps.negators)
    assert unwritten.match("sorry, thanks!", "agent", None) == fresh.match("sorry, thanks!", "agent", None)
    assert [p.id for p in cache.load_policies_cached([str(pack)], include_default=False).policies] == [p.id for p in ps.policies]


DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"


@pytest.mark.skipif(not (DEVSET / "synthetic_conversations.jsonl").is_file(), reason="../shared/devset is absent")
def test_cached_default_pack_audits_the_devset_like_a_fresh_load(cache_dir: Path) -> None:
    fresh = load_policies()  # a default pack that does not load is a failure here, never a skip
    cache.load_policies_cached()
    cached = cache.load_policies_cached()  # served from the cache
    path = str(DEVSET / "synthetic_conversations.jsonl")

    def run(policyset: object, use_cache: bool) -> list[object]:
        os.environ["SERVICECHECK_NO_CACHE"] = "0" if use_cache else "1"
        try:
            auditor = api.Auditor(policyset)  # type: ignore[arg-type]
            return [json.dumps([(f.policy, f.turn, f.message) for f in r.findings]) + str(r.score)
                    for r in api.audit([path], policyset, auditor=auditor)]  # type: ignore[arg-type]
        finally:
            os.environ.pop("SERVICECHECK_NO_CACHE", None)

    expected = run(fresh, False)
    assert run(cached, True) == expected
    assert run(cached, True) == expected  # the matcher now comes from the cache too
