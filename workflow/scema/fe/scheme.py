"""The two staggered macroscale integrators of the method (section 2, step 1).

Both use the qp stresses of the previous step only: the MD is the constitutive law, so the
FE step never evaluates a stress itself. The equilibrium error of step t-1 (f_ext - f_int) is
the right-hand side of step t, so it is carried forward, never dropped.
"""

from __future__ import annotations

import numpy as np


class UnstableTimeStep(ValueError):
    """The explicit integrator was asked for a time step above its stability limit."""


def quasistatic_increment(
    model, stress_prev: np.ndarray, prescribed: dict, petsc_options: dict | None = None, options_key: str | None = None
) -> np.ndarray:
    """du from K du = f_ext - f_int(sigma_{t-1}), with the prescribed boundary increments.

    ``petsc_options``: the linear solver's options (``fe.petsc_options.<fe.solver>``); None is LU.
    ``options_key``: optionally their config key, for errors (``FEModel.solve_increment``).
    """
    residual = -model.internal_force(stress_prev)
    return model.solve_increment(residual, prescribed, petsc_options, options_key)


def stable_time_step(h_min: float, stiffness: dict[int, np.ndarray], density: dict[int, float]) -> float:
    """CFL limit h_min / c_max, c from the largest eigenvalue of each material's C (conservative)."""
    from scema.fe.stability import wave_speed

    return h_min / max(wave_speed(c, density[m]) for m, c in stiffness.items())


def explicit_increment(
    model,
    stress_prev: np.ndarray,
    velocity_prev: np.ndarray,
    prescribed: dict,
    density: dict[int, float],
    time_step: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Semi-implicit Euler with lumped mass: M dv = dt (f_ext - f_int), du = dt (v + dv).

    Prescribed boundaries move at increment / dt. Refuses time steps above the CFL limit.
    """
    limit = stable_time_step(model.min_cell_size(), model.stiffness, density)
    if time_step > limit:
        raise UnstableTimeStep(
            f"fe.time_step = {time_step:.3e} s exceeds the stable explicit limit {limit:.3e} s "
            "(smallest cell / fastest wave speed); lower fe.time_step or coarsen the mesh"
        )
    mass = model.lumped_mass(density)
    force = -model.internal_force(stress_prev)
    velocity = velocity_prev + time_step * force / mass
    masks = {}
    for (name, comp), inc in prescribed.items():
        if name not in masks:
            masks[name] = model.face_nodes(name)
        velocity[masks[name], comp] = inc / time_step
    return time_step * velocity, velocity
