"""The JSON Schemas of pack files: pack.yaml, policies (one per rule kind) and signals."""

from __future__ import annotations

import copy
from typing import Any

from servicecheck.i18n import TEXT_SCHEMA
from servicecheck.rule_types import REGISTRY

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TARGETS = ["transcript", "template", "guideline"]

# A better phrasing to offer with a finding: one text, or one per language.
SUGGESTION_SCHEMA: dict[str, Any] = {
    "description": "A better phrasing, offered with every finding (and as an editor quick fix): "
    "one text, or one per language ({fr: ..., en: ...}).",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {"fr": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}},
        },
    ],
}

EXAMPLE_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["text"],
            "properties": {
                "text": {"type": "string", "minLength": 1},
                "lang": {"enum": ["fr", "en"]},
                "kind": {"enum": TARGETS},
                "turns": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                "lines": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                "note": {"type": "string"},
            },
        },
    ]
}

POLICY_BASE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "severity", "rule", "message"],
    "properties": {
        "title": TEXT_SCHEMA,  # a string, or {fr: ..., en: ...}
        "rationale": {"type": "string"},
        "severity": {"enum": ["error", "warning", "suggestion"]},
        "weight": {"type": "number", "minimum": 0},
        "critical": {"type": "boolean"},
        "enabled": {"type": "boolean"},
        "applies-to": {"type": "array", "items": {"enum": TARGETS}, "minItems": 1, "uniqueItems": True},
        "link": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "rule": {
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"enum": sorted(REGISTRY)}},
        },
        "message": TEXT_SCHEMA,
        "suggestion": SUGGESTION_SCHEMA,
        "examples": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "fail": {"type": "array", "items": EXAMPLE_SCHEMA},
                "pass": {"type": "array", "items": EXAMPLE_SCHEMA},
            },
        },
    },
}

PACK_SCHEMA: dict[str, Any] = {
    "$schema": DIALECT,
    "title": "servicecheck pack.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "version"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"},
        "version": {"type": ["string", "number"]},
        "description": {"type": "string"},
        "languages": {"type": "array", "items": {"enum": ["fr", "en"]}},
    },
}


def rule_schema(kind: str) -> dict[str, Any]:
    """The schema of a ``rule:`` block of ``kind``."""
    return REGISTRY[kind].SCHEMA


def policy_schema() -> dict[str, Any]:
    """The whole policy file schema, one branch per rule kind (published for editors)."""
    schema = copy.deepcopy(POLICY_BASE)
    schema["$schema"] = DIALECT
    schema["title"] = "servicecheck policy"
    schema["properties"]["rule"] = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": sorted(REGISTRY)}},
        "allOf": [
            {"if": {"properties": {"kind": {"const": name}}}, "then": copy.deepcopy(mod.SCHEMA)}
            for name, mod in sorted(REGISTRY.items())
        ],
    }
    return schema


def published(which: str) -> dict[str, Any]:
    """The schema of one kind of pack file, as published in ``schemas/`` (the config's: ``api.published_schema``)."""
    from servicecheck import signals

    if which == "policy":
        return policy_schema()
    base = {"signal": signals.SIGNAL_SCHEMA, "pack": PACK_SCHEMA, "lexicon": signals.LEXICON_SCHEMA}[which]
    out = copy.deepcopy(base)
    out.setdefault("$schema", DIALECT)
    out.setdefault("title", f"servicecheck {which}")
    return out
