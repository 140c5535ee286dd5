"""Where the investigator is, and where they have been: browser-like back and forward.

A ``Location`` names a view (the events of some scope, the lineage of a key, the findings...);
a ``Place`` adds what the investigator did there (the filter typed, the event selected), so going
back returns to the same rows with the same one selected.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Location:
    """``view`` is a pane of the workbench; ``kind``/``value`` scope it to one entity."""

    view: str = "events"
    kind: str | None = None
    value: str | None = None

    @property
    def entity(self) -> bool:
        return self.kind is not None and self.value is not None


HOME = Location()


@dataclass(frozen=True, slots=True)
class Place:
    location: Location
    filter: str = ""
    seq: int | None = None
    event_id: str | None = None

    def but(self, **changes: object) -> Place:
        return replace(self, **changes)  # type: ignore[arg-type]


class History:
    """A current place, the trail behind it, and the places undone by going back."""

    LIMIT = 200

    def __init__(self, start: Place) -> None:
        self.current = start
        self._back: list[Place] = []
        self._forward: list[Place] = []

    def go(self, place: Place) -> Place:
        if place != self.current:
            self._back.append(self.current)
            del self._back[: -self.LIMIT]
            self._forward.clear()
            self.current = place
        return place

    def update(self, place: Place) -> None:
        """Record what changed here (selection, filter) without making a new step."""
        self.current = place

    def back(self) -> Place | None:
        if not self._back:
            return None
        self._forward.append(self.current)
        self.current = self._back.pop()
        return self.current

    def forward(self) -> Place | None:
        if not self._forward:
            return None
        self._back.append(self.current)
        self.current = self._forward.pop()
        return self.current

    @property
    def trail(self) -> list[Place]:
        return [*self._back, self.current]

    @property
    def can_back(self) -> bool:
        return bool(self._back)

    @property
    def can_forward(self) -> bool:
        return bool(self._forward)
