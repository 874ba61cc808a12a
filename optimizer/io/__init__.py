"""Input: the readers of datasets (CSV folders), OR-Library and Holmberg files, and YAML files."""

#: Input formats understood by :func:`optimizer.load`: a dataset folder (or scenario file),
#: an OR-Library capacitated warehouse location file, a Holmberg single-source file.
FORMATS = ("dataset", "orlib", "sscflp")
