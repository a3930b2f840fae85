"""The one reading of the stored events: `Reader` turns each into a typed fact (`facts`) that
every view folds; `canonical` gives its RFC 8785 bytes, which the hash chain hashes. Nothing
outside this package parses a stored event's JSON."""

from projections.reading.facts import Fact
from projections.reading.reader import Facts, Reader, event_class, fact_of_event, jsonable

__all__ = ["Fact", "Facts", "Reader", "event_class", "fact_of_event", "jsonable"]
