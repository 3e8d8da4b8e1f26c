"""Federal files in and out: the AFCARS (legacy six-month foster-care file, fixed-width state
layout and tab-delimited research release) and NCANDS child-file importers, which translate
those files into a canonical data-set folder (children, episodes and placements rebuilt from
snapshots; referrals and allegations from report-child rows; every dropped record listed in
`import_rejects.csv`), and the exporters that write a canonical data set back in those layouts.
Owns the federal code mappings, the AFCARS column-position table and the rules for rebuilding
histories from snapshots (`docs/import.md`); it does not load, check or compute measures."""

from cwoutcomes.importers.dataset import ImportSummary  # noqa: F401


def import_afcars(files, out, progress=None):
    """See `cwoutcomes.importers.afcars.import_afcars`."""
    from cwoutcomes.importers.afcars import import_afcars as run

    return run(files, out, progress)


def import_ncands(files, out, progress=None):
    """See `cwoutcomes.importers.ncands.import_ncands`."""
    from cwoutcomes.importers.ncands import import_ncands as run

    return run(files, out, progress)


def export_afcars(data_dir, out_dir, **options):
    """See `cwoutcomes.importers.export.export_afcars`."""
    from cwoutcomes.importers.export import export_afcars as run

    return run(data_dir, out_dir, **options)


def export_ncands(data_dir, out_dir, **options):
    """See `cwoutcomes.importers.export.export_ncands`."""
    from cwoutcomes.importers.export import export_ncands as run

    return run(data_dir, out_dir, **options)
