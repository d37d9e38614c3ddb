"""The PhysioNet/CinC Challenge data: its file format, label tables, readers and fetchers.

``_format`` reads and writes the challenge's WFDB header and MATLAB signal files,
``_tables`` holds the label facts (scored codes, class sets, weights), and each
challenge year has its reader and fetcher.
"""
