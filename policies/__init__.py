"""The default policy pack, shipped in the wheel as package data (see policies/*/pack.yaml)."""
