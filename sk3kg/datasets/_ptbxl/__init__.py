"""PTB-XL (Wagner et al. 2020): its tables, label tasks, split, reader and fetcher.

``_tables`` reads ``ptbxl_database.csv`` (one row per record) and ``scp_statements.csv``
(what each SCP-ECG statement is), ``_labels`` turns the statements into the six label
sets of the PTB-XL benchmark, ``_split`` gives its train/validation/test folds,
``_load`` reads the WFDB signals into a cached array and ``_fetch`` downloads them.
"""
