"""The PhysioNet/CinC Challenge data: its file format, label tables, reader and fetchers.

``_format`` reads and writes the challenge's WFDB header and MATLAB signal files,
``_tables`` holds the label facts (scored codes, class sets, sources, weights),
``_reader`` turns a folder of records into cached arrays, labels and a Bunch for either
year, ``_physionet2020`` and ``_physionet2021`` are the two years' loaders (the reader
with that year's sources and description), and ``_fetch`` downloads either year's
files and loads them.
"""
