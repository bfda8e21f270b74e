"""Shared pieces every domain uses: the data engine, time units, maximum likelihood, atomic I/O and
the run-folder protocol. Nothing here knows about a particular analysis domain."""
