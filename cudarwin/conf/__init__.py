"""Hydra config files of `cudarwin optimize` (a package so Hydra can find them)."""
