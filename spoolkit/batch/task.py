"""One image of a batch as the runners receive it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .sources import Source


@dataclass
class Task:
    """One image to do: where its output may be replaced (an earlier,
    unfinished run of this batch wrote it) and how many threads it gets."""

    source: Source
    overwrite: bool
    threads: Optional[int]
