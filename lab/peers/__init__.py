"""Servers users would pick instead of stage 4, measured on the same scenarios (`--with`)."""
