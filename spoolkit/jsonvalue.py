"""The type of the JSON-ready data ``to_dict()`` methods and ``--json`` output give."""

from __future__ import annotations

from typing import Mapping, Sequence, Union

#: a value ``json.dumps`` takes (read-only containers, so that a list of
#: dicts of ints is one, as lists and dicts are invariant)
JSONValue = Union[str, int, float, bool, None, Sequence["JSONValue"], Mapping[str, "JSONValue"]]

#: a JSON object
JSONDict = dict[str, JSONValue]

__all__ = ["JSONDict", "JSONValue"]
