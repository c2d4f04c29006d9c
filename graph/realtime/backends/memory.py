"""The in-process backend (`memory://`): one process, no broker; broadcaster's own, unchanged.

Events do not cross processes, which is why `tasklive serve --workers N` refuses it.
"""

from __future__ import annotations

from broadcaster._backends.memory import MemoryBackend

__all__ = ["MemoryBackend"]
