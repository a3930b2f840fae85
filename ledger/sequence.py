"""Filing numbers: `<division>-<year>-<6-digit sequence>`, gapless and unique per division and year.

Each division-year has one `FilingSequence` aggregate. A filing saves the sequence's next
`NumberIssued` event in the same transaction as the system itself, so two concurrent filings
that read the same last number collide on the sequence's (id, version) key: one commits, the
other retries with the next number. A number is never issued without its system, and no
number is issued twice.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.ids import filing_sequence_id


class FilingSequence(Aggregate):
    class Started(Aggregate.Created):
        division_code: str
        year: int

    def __init__(self, division_code: str, year: int) -> None:
        self.division_code = division_code
        self.year = year
        self.last_number = 0

    @classmethod
    def start(cls, *, division_code: str, year: int) -> FilingSequence:
        return cls._create(
            cls.Started,
            id=filing_sequence_id(division_code, year),
            division_code=division_code,
            year=year,
        )

    class NumberIssued(Aggregate.Event):
        number: int
        system_id: UUID

    def issue(self, system_id: UUID) -> str:
        """Issues the next number to `system_id` and returns it formatted."""
        self._issue(number=self.last_number + 1, system_id=system_id)
        return format_filing_number(self.division_code, self.year, self.last_number)

    @event(NumberIssued)
    def _issue(self, number: int, system_id: UUID) -> None:
        self.last_number = number


def format_filing_number(division_code: str, year: int, number: int) -> str:
    return f"{division_code}-{year}-{number:06d}"
