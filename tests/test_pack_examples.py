"""Every example of every default-pack policy and signal, one test each (what `policies test` runs)."""

from __future__ import annotations

import pytest

from servicecheck.api import load_policies
from servicecheck.testing import Case, run_pack_examples

CASES: list[Case] = list(run_pack_examples(load_policies()))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_example(case: Case) -> None:
    assert case.ok, case.why


def test_every_policy_has_failing_and_passing_examples_in_both_languages() -> None:
    policyset = load_policies()
    for policy in policyset.policies:
        for verdict in ("fail", "pass"):
            langs = [ex.get("lang") for ex in policy.examples.get(verdict, []) if isinstance(ex, dict)]
            for lang in ("fr", "en"):
                assert langs.count(lang) >= 1, f"{policy.id}: no {verdict} example in {lang}"
