"""Statistics on aggregate results: Wilson intervals for percentages, exact (Garwood) Poisson
intervals for rates, and tests of change between two periods. Works on arrays of counts, never
on child-level rows."""
