"""The pure core of the sync: the plan (`plan.build`), the three-way merge, the fields and
their digests, the snapshots the plan reads, the actions it yields, and what a run may record
as settled (`settle`). No I/O: most unit and property tests point here."""
