"""The pure shared library: files, devices, labels, image suffixes and seed ranges, without Django."""
