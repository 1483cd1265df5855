"""Molecular-dynamics side of SCEMa: LAMMPS driven in-process through its Python module.

Modules: ``units`` (the only place with unit factors), ``material`` (MaterialSpec from the
config), ``engine`` (one LAMMPS instance, reused), ``init`` (replica equilibration and
stiffness), ``update`` (strain update of one quadrature point / replica, batches).
"""
