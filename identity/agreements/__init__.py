"""The agreements the hub holds: publishing sets and the set in force (``publishing``), the
published versions (``versions``: view, diff, export), changes to libraries and agreements and
who may make them, with proposals waiting for another party (``changes``), one entry edited as it
is written (``entries``), and what a change would flip (``whatif``)."""
