"""MANO hand model: procedural stand-in, licensed-file conversion and the smplx-backed layer."""
