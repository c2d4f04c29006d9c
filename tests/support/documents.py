"""Documents that cost far more than their size unless fragments are walked once."""

from __future__ import annotations


def doubling_fragments(levels: int, *, on: str = "Query", leaf: str = "me { id }") -> str:
    """The fragment bomb: F_i spreads F_{i+1} twice, so 2**levels copies of `leaf` hide in
    a text of a few dozen characters per level."""
    operation = "subscription" if on == "Subscription" else "query"
    fragments = [f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on {on} {{ {leaf} }}")
    return f"{operation} {{ ...F0 }} " + " ".join(fragments)


def fragment_chain(length: int, *, leaf: str = "me { id }") -> str:
    """`length` fragments each spreading the next once: long, but cheap."""
    fragments = [f"fragment C{i} on Query {{ ...C{i + 1} }}" for i in range(length)]
    fragments.append(f"fragment C{length} on Query {{ {leaf} }}")
    return "query { ...C0 } " + " ".join(fragments)


def aliased_fragments(aliases: int, *, leaf: str = "id") -> str:
    """One fragment of `aliases` aliases, spread twice."""
    body = " ".join(f"a{i}: {leaf}" for i in range(aliases))
    return "query { me { ...U } other: me { ...U } } fragment U on User { " + body + " }"
