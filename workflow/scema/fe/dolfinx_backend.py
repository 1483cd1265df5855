"""Every dolfinx call of the project lives here (dolfinx 0.5.2; the API moves between versions).

The rest of the package talks to the FE model through numpy arrays ordered by *qp id* and
*node id*, both independent of the MPI partition:

- qp id   = original (input) cell index * points_per_cell + Gauss point index;
- node id = original (input) geometry node index.

Strains come out as engineering-shear Voigt vectors, stresses go in as plain Voigt vectors
(see :mod:`scema.voigt`).
"""

from __future__ import annotations

import functools
import re
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scema.fe.fast_import import without_pkg_resources

with without_pkg_resources():
    import basix
    import dolfinx
    import ufl
    from dolfinx import fem
    from dolfinx import mesh as dmesh
    from dolfinx.fem import petsc as fem_petsc
    from mpi4py import MPI
    from petsc4py import PETSc

from scema.fe.boundary import boundary_marker
from scema.io.atomic import atomic_paths

# PETSc's initialisation (the petsc4py import above) installs its signal handlers, SIGPIPE's too,
# which Python ignores: a write to a closed pipe or socket then aborted the process (MPI_Abort 59,
# or a SEGV when the handler printed through petsc4py) instead of raising BrokenPipeError, which the
# MD supervisor expects from a worker that has exited. A process that imports this module and runs
# an MD batch (the test session, a user's notebook) crashed so. SIGPIPE goes back to Python.
if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

QUADRATURE_DEGREE = 2  # 2x2x2 Gauss points on hexahedra, 4 on tetrahedra

# The exact solve (LU) used when no PETSc options are given (unit tests, one-off checks).
EXACT_SOLVE = {"ksp_type": "preonly", "pc_type": "lu"}

_CELL_TYPES = {"hexahedron": dmesh.CellType.hexahedron, "tetrahedron": dmesh.CellType.tetrahedron}
_BASIX_CELLS = {"hexahedron": basix.CellType.hexahedron, "tetrahedron": basix.CellType.tetrahedron}


# ---------------------------------------------------------------------- the mechanics, in UFL
def eps(v):
    """Small-strain tensor of a displacement field."""
    return ufl.sym(ufl.grad(v))


def voigt_strain(e):
    """Strain tensor -> engineering-shear Voigt vector (xx yy zz yz xz xy; gamma = 2 eps)."""
    return ufl.as_vector([e[0, 0], e[1, 1], e[2, 2], 2 * e[1, 2], 2 * e[0, 2], 2 * e[0, 1]])


def stress_tensor(s):
    """Plain Voigt stress vector (6) -> symmetric 3x3 tensor."""
    return ufl.as_matrix([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])


def sigma(v, C):
    """Linear-elastic stress of a displacement, C : eps(v), with C the 6x6 Voigt stiffness."""
    return stress_tensor(ufl.dot(C, voigt_strain(eps(v))))


@dataclass
class MeshSpec:
    """What the FE model needs to know about the specimen geometry."""

    kind: str  # "box" or "gmsh"
    size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    divisions: tuple[int, int, int] = (1, 1, 1)
    cell: str = "hexahedron"
    file: str | None = None


def create_mesh(spec: MeshSpec, comm=MPI.COMM_WORLD) -> tuple[dmesh.Mesh, dict[str, np.ndarray]]:
    """A box from size/divisions, or a 3D gmsh ``.msh`` file.

    Also returns the local facets of each named 2D gmsh physical group (none for a box).
    """
    if spec.kind == "box":
        box = [np.zeros(3), np.asarray(spec.size, dtype=float)]
        return dmesh.create_box(comm, box, list(spec.divisions), _CELL_TYPES[spec.cell]), {}
    # dolfinx 0.5.2's gmshio.read_from_msh never builds the mesh (returns an undefined name):
    # merge the file into a gmsh model and convert that instead.
    import gmsh
    from dolfinx.io import gmshio

    groups = None
    if comm.rank == 0:
        gmsh.initialize()
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.merge(str(spec.file))
        groups = {gmsh.model.getPhysicalName(2, tag): tag for _dim, tag in gmsh.model.getPhysicalGroups(2)}
    groups = comm.bcast(groups, root=0)
    try:
        msh, _cell_tags, facet_tags = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=3)
    finally:
        if comm.rank == 0:
            gmsh.finalize()
    facets = {
        name: np.asarray(facet_tags.indices[facet_tags.values == tag], dtype=np.int32)
        for name, tag in groups.items()
        if name
    }
    return msh, facets


class FEModel:
    """Small-strain 3D model on linear elements with a quadrature-point stress field."""

    def __init__(
        self,
        msh: dmesh.Mesh,
        cell_material: np.ndarray,
        stiffness: dict[int, np.ndarray],
        boundaries: dict[str, dict] | None = None,
        facet_groups: dict[str, np.ndarray] | None = None,
    ):
        """``cell_material[c]`` is a material index per *local* cell; ``stiffness[m]`` a 6x6 Pa.

        ``boundaries`` are the named selectors of ``specimen.boundaries``; ``facet_groups`` the
        gmsh physical groups :func:`create_mesh` found.
        """
        self.mesh = msh
        self.comm = msh.comm
        tdim = msh.topology.dim
        cell_name = msh.topology.cell_name()
        self.V = fem.VectorFunctionSpace(msh, ("Lagrange", 1))
        q_element = ufl.VectorElement("Quadrature", msh.ufl_cell(), QUADRATURE_DEGREE, dim=6, quad_scheme="default")
        self.Q = fem.FunctionSpace(msh, q_element)
        self.points, self.weights = basix.make_quadrature(_BASIX_CELLS[cell_name], QUADRATURE_DEGREE)
        self.points_per_cell = self.points.shape[0]
        n_local = msh.topology.index_map(tdim).size_local
        self.cells = np.arange(n_local, dtype=np.int32)
        self.original_cell = np.asarray(msh.topology.original_cell_index[:n_local], dtype=np.int64)
        self.cell_material = np.asarray(cell_material[:n_local], dtype=np.int32)
        cell_tags = dmesh.meshtags(msh, tdim, self.cells, self.cell_material)
        self.dx = ufl.Measure(
            "dx",
            domain=msh,
            subdomain_data=cell_tags,
            metadata={"quadrature_degree": QUADRATURE_DEGREE, "quadrature_scheme": "default"},
        )
        self.stiffness = {m: np.asarray(c, dtype=float) for m, c in stiffness.items()}
        self.boundaries = dict(boundaries or {})
        self.facet_groups = dict(facet_groups or {})
        self._facets: dict[str, np.ndarray] = {}
        self._qp_order = self._local_qp_ids()
        self._node_ids, self._dof_of_node = self._node_numbering()

    # ------------------------------------------------------------------ numbering
    def _local_qp_ids(self) -> np.ndarray:
        """qp id of each local (cell, point), flattened cell-major."""
        k = np.arange(self.points_per_cell)
        return (self.original_cell[:, None] * self.points_per_cell + k[None, :]).ravel()

    def _node_numbering(self) -> tuple[np.ndarray, np.ndarray]:
        """Map owned P1 dofs to input node ids via the cell dofmaps (P1 dofs sit on geometry nodes)."""
        n_owned = self.V.dofmap.index_map.size_local
        input_ids = np.asarray(self.mesh.geometry.input_global_indices, dtype=np.int64)
        node_of_dof = np.full(self.V.dofmap.index_map.size_local + self.V.dofmap.index_map.num_ghosts, -1, np.int64)
        gdofmap = self.mesh.geometry.dofmap
        for c in self.cells:
            node_of_dof[self.V.dofmap.cell_dofs(c)] = input_ids[gdofmap.links(c)]
        owned = node_of_dof[:n_owned]
        order = np.argsort(owned)
        return owned[order], order.astype(np.int32)

    @property
    def n_qp(self) -> int:
        return self.comm.allreduce(self._qp_order.size, op=MPI.SUM)

    # ------------------------------------------------------------------ gathering helpers
    def _gather_by_id(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Collect rows from all ranks ordered by global id (every rank gets the full array)."""
        all_ids = np.concatenate(self.comm.allgather(ids))
        all_values = np.concatenate(self.comm.allgather(values))
        out = np.empty((all_ids.max() + 1,) + values.shape[1:])
        out[all_ids] = all_values
        return out

    def _eval_at_qp(self, expr, n_comp: int) -> np.ndarray:
        values = fem.Expression(expr, self.points).eval(self.cells)
        values = values.reshape(-1, n_comp)
        return self._gather_by_id(self._qp_order, values)

    # ------------------------------------------------------------------ qp data
    def qp_coordinates(self) -> np.ndarray:
        return self._eval_at_qp(ufl.SpatialCoordinate(self.mesh), 3)

    def qp_cell(self) -> np.ndarray:
        return self._gather_by_id(self._qp_order, np.repeat(self.original_cell, self.points_per_cell)).astype(np.int64)

    def qp_material(self) -> np.ndarray:
        return self._gather_by_id(self._qp_order, np.repeat(self.cell_material, self.points_per_cell)).astype(np.int32)

    def qp_strain(self, u_nodes: np.ndarray) -> np.ndarray:
        """(n_qp, 6) engineering Voigt strain of a nodal displacement (n_nodes, 3)."""
        return self._eval_at_qp(voigt_strain(eps(self._function(u_nodes))), 6)

    # ------------------------------------------------------------------ nodal data
    def node_coordinates(self) -> np.ndarray:
        coords = self.V.tabulate_dof_coordinates()[: self.V.dofmap.index_map.size_local]
        return self._gather_by_id(self._node_ids, coords[self._dof_of_node])

    def _function(self, u_nodes: np.ndarray) -> fem.Function:
        u = fem.Function(self.V)
        owned = u.x.array.reshape(-1, 3)
        owned[self._dof_of_node] = np.asarray(u_nodes)[self._node_ids]
        u.x.scatter_forward()
        return u

    def _nodal(self, vec: PETSc.Vec) -> np.ndarray:
        arr = vec.array_r.reshape(-1, 3)[self._dof_of_node]
        return self._gather_by_id(self._node_ids, arr)

    def _stress_function(self, stress_qp: np.ndarray) -> fem.Function:
        sig = fem.Function(self.Q)
        values = sig.x.array.reshape(-1, 6)
        local = np.asarray(stress_qp)[self._qp_order].reshape(len(self.cells), self.points_per_cell, 6)
        for c in self.cells:
            values[self.Q.dofmap.cell_dofs(c)] = local[c]
        sig.x.scatter_forward()
        return sig

    # ------------------------------------------------------------------ boundaries
    def face_facets(self, name: str) -> np.ndarray:
        """Local boundary facets of a bounding-box face or named boundary: the one locator.

        Dirichlet conditions, reaction forces and prescribed velocities all start from these.
        """
        if name not in self._facets:
            fdim = self.mesh.topology.dim - 1
            x = self.mesh.geometry.x
            lower = np.array([self.comm.allreduce(float(v), op=MPI.MIN) for v in x.min(axis=0)])
            upper = np.array([self.comm.allreduce(float(v), op=MPI.MAX) for v in x.max(axis=0)])
            marker = boundary_marker(name, self.boundaries, lower, upper)
            if marker is not None:
                facets = dmesh.locate_entities_boundary(self.mesh, fdim, marker)
            else:
                group = self.boundaries[name]["physical_group"]
                if group not in self.facet_groups:
                    known = ", ".join(sorted(self.facet_groups)) or "none"
                    raise ValueError(
                        f"specimen.boundaries.{name}: the mesh has no 2D physical group '{group}' (groups: {known})"
                    )
                facets = self.facet_groups[group]
            if self.comm.allreduce(len(facets), op=MPI.SUM) == 0:
                raise ValueError(f"boundary '{name}' selects no boundary facet of the specimen")
            self._facets[name] = np.asarray(facets, dtype=np.int32)
        return self._facets[name]

    def face_nodes(self, name: str) -> np.ndarray:
        """Boolean mask over node ids of the nodes of a face or named boundary (see face_facets)."""
        fdim = self.mesh.topology.dim - 1
        dofs = fem.locate_dofs_topological(self.V, fdim, self.face_facets(name))
        n_owned = self.V.dofmap.index_map.size_local
        node_of_dof = np.empty(n_owned, dtype=np.int64)
        node_of_dof[self._dof_of_node] = self._node_ids
        local_ids = node_of_dof[dofs[dofs < n_owned]]
        mask = np.zeros(self.comm.allreduce(n_owned, op=MPI.SUM), dtype=bool)
        mask[np.concatenate(self.comm.allgather(local_ids))] = True
        return mask

    # ------------------------------------------------------------------ physics
    def internal_force(self, stress_qp: np.ndarray) -> np.ndarray:
        """Nodal internal force f_int = int sigma : eps(v) dx, (n_nodes, 3), N."""
        v = ufl.TestFunction(self.V)
        sig = stress_tensor(self._stress_function(stress_qp))
        vec = fem_petsc.assemble_vector(fem.form(ufl.inner(sig, eps(v)) * self.dx))
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return self._nodal(vec)

    def internal_force_operator(self) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`internal_force` as numbers, so that a job without dolfinx can apply it.

        f_int is linear in the qp stresses: f_int[cell_nodes[c, k], i] = sum over the cells c of
        the node and their qps q of sum_j sigma_ij(q) G[q, k, j], with G = Gauss weight x |det J|
        x gradient of the cell's k-th nodal shape function at q (m^2), the integral's own factors.
        Returns G (n_qp, nodes per cell, 3) by qp id and cell_nodes (n_cells, nodes per cell):
        the node ids of each input cell, in the element's dof order (the order of G's k).
        """
        n_cells, n_points = len(self.cells), self.points_per_cell
        scalar = fem.FunctionSpace(self.mesh, ("Lagrange", 1))
        # an Expression of an argument: per cell, (point, gradient component, cell dof)
        grad = fem.Expression(ufl.grad(ufl.TestFunction(scalar)), self.points).eval(self.cells)
        n_dofs = scalar.element.space_dimension
        det = fem.Expression(abs(ufl.JacobianDeterminant(self.mesh)), self.points).eval(self.cells)
        scale = det.reshape(n_cells, n_points) * self.weights[None, :]
        G = grad.reshape(n_cells, n_points, 3, n_dofs).transpose(0, 1, 3, 2) * scale[:, :, None, None]
        input_ids = np.asarray(self.mesh.geometry.input_global_indices, dtype=np.int64)
        gdofmap = self.mesh.geometry.dofmap  # P1 dofs sit on the geometry nodes, in the same order
        cell_nodes = np.array([input_ids[gdofmap.links(c)] for c in self.cells], dtype=np.int64)
        cell_nodes = cell_nodes.reshape(n_cells, n_dofs)
        return (
            self._gather_by_id(self._qp_order, G.reshape(-1, n_dofs, 3)),
            self._gather_by_id(self.original_cell, cell_nodes).astype(np.int64),
        )

    def lumped_mass(self, density: dict[int, float]) -> np.ndarray:
        """Row-sum lumped mass per node (kg), exact enough for linear elements."""
        v = ufl.TestFunction(self.V)
        ones = ufl.as_vector([1.0, 1.0, 1.0])
        form = sum(fem.Constant(self.mesh, float(rho)) * ufl.inner(ones, v) * self.dx(m) for m, rho in density.items())
        vec = fem_petsc.assemble_vector(fem.form(form))
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return self._nodal(vec)

    def min_cell_size(self) -> float:
        """The CFL length: shortest altitude of a tetrahedron, shortest edge of a hexahedron.

        A sliver tetrahedron has long edges but a short altitude, which is what limits the
        stable explicit time step there.
        """
        from scema.fe.stability import shortest_length

        x = self.mesh.geometry.x
        dofmap = self.mesh.geometry.dofmap
        h = shortest_length(np.array([x[dofmap.links(c)] for c in self.cells])) if len(self.cells) else np.inf
        return self.comm.allreduce(float(h), op=MPI.MIN)

    def solve_increment(
        self,
        rhs_nodes: np.ndarray,
        prescribed: dict[tuple[str, int], float],
        petsc_options: dict | None = None,
        options_key: str | None = None,
    ) -> np.ndarray:
        """Solve a(du, v) = rhs(v) with du prescribed on (boundary, component) pairs; du per node.

        a(du, v) = sum over materials m of int_m sigma(du, C_m) : eps(v) dx. ``petsc_options``
        (``fe.petsc_options.<solver>``, names without the dash) configure the KSP; default LU.
        ``options_key``: where they come from in the config, for the errors naming one of them.
        """
        du, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        a = sum(
            ufl.inner(sigma(du, fem.Constant(self.mesh, PETSc.ScalarType(C))), eps(v)) * self.dx(m)
            for m, C in self.stiffness.items()
        )
        rhs = fem.Function(self.V)
        rhs.x.array.reshape(-1, 3)[self._dof_of_node] = np.asarray(rhs_nodes)[self._node_ids]
        bcs = self._dirichlet(prescribed)
        a_form = fem.form(a)
        A = fem_petsc.assemble_matrix(a_form, bcs=bcs)
        A.assemble()
        A.setNearNullSpace(self._rigid_body_modes())  # what GAMG needs for elasticity; LU ignores it
        b = rhs.vector.copy()
        fem_petsc.apply_lifting(b, [a_form], bcs=[bcs])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b, bcs)
        options = EXACT_SOLVE if petsc_options is None else petsc_options
        ksp, x = self._krylov_solve(A, b, options, options_key or "fe.petsc_options.<fe.solver>")
        reason = ksp.getConvergedReason()
        if reason < 0:
            raise RuntimeError(
                f"FE linear solve did not converge (PETSc reason {reason} after {ksp.getIterationNumber()} "
                f"iterations of {ksp.getType()}/{ksp.getPC().getType()}): check fe.solver and fe.petsc_options"
            )
        x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        return self._nodal(x)

    def _krylov_solve(self, A: PETSc.Mat, b: PETSc.Vec, options: dict, key: str) -> tuple[PETSc.KSP, PETSc.Vec]:
        """A KSP set from ``options`` under a private prefix (the global options stay clean), and
        its solution. The options stay set through the solve: the multigrid levels read theirs
        only when the preconditioner is set up (deleted after setFromOptions, the mg_levels_*
        options were never read). An option PETSc did not read, or a type it does not know, is
        refused naming ``key``.<option>: PETSc would ignore the first silently and report the
        second as 'error code 86'."""
        ksp = PETSc.KSP().create(self.comm)
        ksp.setOperators(A)
        prefix = f"scema_fe_{id(ksp)}_"
        ksp.setOptionsPrefix(prefix)
        db = PETSc.Options()
        for name, value in options.items():
            db[prefix + name] = "" if value is None else value
        try:
            x = b.duplicate()
            try:
                ksp.setFromOptions()
                ksp.solve(b, x)  # sets the preconditioner up: the levels' types are looked up here
            except PETSc.Error as error:
                message = _unknown_type_message(error, options, key)
                if message is None:
                    raise
                raise ValueError(message) from None
            unused = [name for name in options if not _option_used(prefix + name)]
        finally:
            for name in options:
                db.delValue(prefix + name)
        if unused:
            keys = ", ".join(f"'{key}.{name}'" for name in unused)
            raise ValueError(
                f"config error: {keys}: PETSc did not use {'this option' if len(unused) == 1 else 'these options'} "
                f"(a misspelt name, or one that ksp_type {ksp.getType()} / pc_type {ksp.getPC().getType()} does not read)"
            )
        return ksp, x

    def _rigid_body_modes(self) -> PETSc.NullSpace:
        """The six rigid-body modes (3 translations, 3 rotations) as an orthonormal near-nullspace."""
        index_map, bs = self.V.dofmap.index_map, self.V.dofmap.index_map_bs
        modes = [dolfinx.la.create_petsc_vector(index_map, bs) for _ in range(6)]
        x = self.V.tabulate_dof_coordinates()
        for i, vec in enumerate(modes):
            with vec.localForm() as local:
                u = local.array.reshape(-1, 3)
                u[:] = 0.0
                if i < 3:
                    u[:, i] = 1.0
                else:  # rotation about axis i-3: u = e_axis x x
                    a, b = [(1, 2), (2, 0), (0, 1)][i - 3]
                    u[:, a] = -x[: len(u), b]
                    u[:, b] = x[: len(u), a]
        dolfinx.la.orthonormalize(modes)
        return PETSc.NullSpace().create(vectors=modes, comm=self.comm)

    def _dirichlet(self, prescribed: dict[tuple[str, int], float]) -> list:
        fdim = self.mesh.topology.dim - 1
        bcs = []
        for (name, comp), value in prescribed.items():
            sub = self.V.sub(comp)
            dofs = fem.locate_dofs_topological(sub, fdim, self.face_facets(name))
            bcs.append(fem.dirichletbc(PETSc.ScalarType(value), dofs, sub))
        return bcs

    # ------------------------------------------------------------------ output
    def write_displacement(self, path: Path, u_nodes: np.ndarray, time: float) -> None:
        """XDMF + HDF5 displacement for ParaView; both appear together, the .xdmf renamed last."""
        u = self._function(u_nodes)
        u.name = "displacement"

        def write(xdmf):
            xdmf.write_mesh(self.mesh)
            xdmf.write_function(u, time)

        self._write_xdmf(path, write)

    def write_time_series(self, path: Path, frames: list, information: dict[str, str] | None = None) -> None:
        """One XDMF + HDF5 time series for ParaView: the mesh once, every field at every time.

        ``frames`` is a list of (time, fields); fields maps a name to nodal (n_nodes, 3) values
        (P1 vector) under ``"nodes"`` or to per-cell values under ``"cells"`` indexed by input
        cell: (n_cells,) DG0 scalar or (n_cells, 3, 3) DG0 tensor. ``information`` is written
        beside each named field as an XDMF <Information> (units, meaning of integer codes).
        """
        from scema.fe.xdmf import annotate

        functions: dict[str, fem.Function] = {}

        def function(name: str, shape: tuple) -> fem.Function:
            if name not in functions:
                cell = self.mesh.ufl_cell()
                element = {
                    (): ufl.FiniteElement("DG", cell, 0),
                    (3, 3): ufl.TensorElement("DG", cell, 0, symmetry=None),
                }[shape]
                functions[name] = fem.Function(fem.FunctionSpace(self.mesh, element), name=name)
            return functions[name]

        def write(xdmf):
            xdmf.write_mesh(self.mesh)
            for time, fields in frames:
                for name, u_nodes in fields.get("nodes", {}).items():
                    u = self._function(u_nodes)
                    u.name = name
                    xdmf.write_function(u, time)
                for name, values in fields.get("cells", {}).items():
                    values = np.asarray(values, dtype=float)
                    f = function(name, values.shape[1:])
                    local = values[self.original_cell].reshape(len(self.cells), -1)
                    array = f.x.array.reshape(-1, local.shape[1])
                    for c in self.cells:
                        array[f.function_space.dofmap.cell_dofs(c)[0]] = local[c]
                    f.x.scatter_forward()
                    xdmf.write_function(f, time)

        self._write_xdmf(path, write, lambda tmp: annotate(tmp, information or {}))

    def _write_xdmf(self, path: Path, write, finish=None) -> None:
        """Write an XDMF + HDF5 pair with ``write(xdmf_file)``; both appear together, .xdmf last.

        dolfinx names the .h5 after the .xdmf and writes that name inside it, so the pair is
        written under its final names in a private directory, then installed by atomic_paths.
        ``finish(tmp_xdmf)`` may edit the finished XDMF text (rank 0) before it is installed.
        """
        path = Path(path)
        tmpdir = Path(tempfile.mkdtemp(dir=path.parent, prefix=".tmp_xdmf_")) if self.comm.rank == 0 else None
        tmpdir = self.comm.bcast(tmpdir, root=0)
        try:
            with dolfinx.io.XDMFFile(self.comm, str(tmpdir / path.name), "w") as xdmf:
                write(xdmf)
            self.comm.barrier()
            if self.comm.rank == 0:
                if finish is not None:
                    finish(tmpdir / path.name)
                h5 = path.with_suffix(".h5")
                with atomic_paths([h5, path]) as (tmp_h5, tmp_xdmf):
                    shutil.move(tmpdir / h5.name, tmp_h5)
                    shutil.move(tmpdir / path.name, tmp_xdmf)
        finally:
            self.comm.barrier()
            if self.comm.rank == 0:
                shutil.rmtree(tmpdir, ignore_errors=True)


@functools.cache
def _petsc_options_used():
    """PetscOptionsUsed from the library petsc4py loaded (petsc4py 3.18 has no binding), looked
    up once per process; None when it cannot be found."""
    import ctypes

    try:
        used_fn = ctypes.CDLL(PETSc.__file__).PetscOptionsUsed
    except (OSError, AttributeError):
        return None
    used_fn.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    used_fn.restype = ctypes.c_int
    return used_fn


def _option_used(name: str) -> bool:
    """PETSc's own record of whether an option was read. True when it cannot tell."""
    import ctypes

    used_fn = _petsc_options_used()
    if used_fn is None:
        return True
    flag = ctypes.c_int(0)
    return used_fn(None, name.encode(), ctypes.byref(flag)) != 0 or bool(flag.value)


def _unknown_type_message(error: PETSc.Error, options: dict, key: str) -> str | None:
    """PETSc's 'error code 86' (unknown type) as the option that asked for it; None for any
    other error (PETSc's own traceback then names the failing call)."""
    found = re.search(r"Unable to find requested (\w+) type (\S+)", str(error))
    if getattr(error, "ierr", None) != 86 or not found:
        return None
    kind, value = found.group(1).lower(), found.group(2)
    names = [n for n, v in options.items() if n.endswith(f"{kind}_type") and str(v) == value]
    return (
        f"config error: '{key}.{names[0] if names else kind + '_type'}': PETSc has no {kind} type '{value}' "
        "(misspelt, or a package this PETSc was built without)"
    )


def cell_midpoints(msh: dmesh.Mesh) -> np.ndarray:
    """Midpoints of the local cells, to assign materials by region."""
    tdim = msh.topology.dim
    n_local = msh.topology.index_map(tdim).size_local
    return dmesh.compute_midpoints(msh, tdim, np.arange(n_local, dtype=np.int32))
