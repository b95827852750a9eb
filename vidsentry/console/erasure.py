"""Data subject erasure: deleting an unknown-people cluster erases what the console keeps of
that person: the cluster's embeddings and crops (Redis), the search index's events of every
person seen with one of its face tracks, or kept under the cluster's id (SQLite), and the
snapshots of the alerts about those people (Redis)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vidsentry.console.alerts import AlertFeed
from vidsentry.console.search import SearchStore
from vidsentry.console.unknowns import UnknownStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erased:
    cluster: str
    sightings: int
    """Face tracks whose embeddings and crop were deleted."""
    events: int
    """Rows of the search index."""
    snapshots: int
    """Alert snapshots (face crops)."""
    people: int
    """Person ids whose events and snapshots went."""

    def summary(self) -> str:
        return (f"erased {self.cluster}: {self.sightings} sightings (embeddings and crops), {self.events} search events "
                f"of {self.people} person record(s), {self.snapshots} alert snapshot(s)")


def erase_cluster(cluster: str, unknowns: UnknownStore, search: SearchStore, alerts: AlertFeed) -> Erased:
    keys = unknowns.delete(cluster)
    tracks = [tuple(key.split("|", 1)) for key in keys]
    events, people = search.erase(tracks, {cluster})  # the aggregator may keep a stranger under the cluster's id
    snapshots = alerts.erase_snapshots(people | {cluster})
    erased = Erased(cluster, len(keys), events, snapshots, len(people))
    log.info("console: %s", erased.summary())
    return erased
