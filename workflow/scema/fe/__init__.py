"""Macroscale finite-element model. Only :mod:`scema.fe.dolfinx_backend` imports dolfinx."""
