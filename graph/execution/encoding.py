"""JSON encoding for replies: orjson's speed, and the standard library's for what it refuses."""

from __future__ import annotations

import json

import orjson


def dumps(value: object, *, sort_keys: bool = False) -> bytes:
    """`value` as compact JSON. Text with a lone surrogate (a client can send one as a JSON
    escape, in an operation id, a variable or a string that an error message quotes back) is
    not UTF-8, so orjson refuses it; the standard library escapes it as \\udXXX instead."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":")).encode()
