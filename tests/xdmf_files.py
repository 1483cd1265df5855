"""Read an XDMF + HDF5 pair the way ParaView does: the XDMF XML, then the HDF5 datasets it points
at (netCDF4 reads plain HDF5), without meshio or dolfinx, so a test compares what users open.

Shared by ``test_fields.py`` (the run's fields file), ``test_workflow.py`` and ``test_mpi.py``
(each step's displacement file).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import netCDF4
import numpy as np


def read_xdmf(path):
    """(mesh topology, geometry, {field: [(time, values, description)]}) from XDMF + HDF5."""
    root = ET.parse(path).getroot()
    with netCDF4.Dataset(path.with_suffix(".h5")) as h5:  # closed: HDF5 would serve a reopened file from cache
        h5.set_auto_mask(False)

        def data(item):
            name, dataset = item.text.strip().split(":")
            assert name == path.with_suffix(".h5").name
            return np.asarray(h5[dataset.lstrip("/")][:])

        mesh = next(g for g in root.iter("Grid") if g.get("Name") == "mesh")
        topology, geometry = data(mesh.find("Topology/DataItem")), data(mesh.find("Geometry/DataItem"))
        fields = {}
        for series in root.iter("Grid"):
            if series.get("CollectionType") != "Temporal":
                continue
            for frame in series.findall("Grid"):
                attribute = frame.find("Attribute")
                fields.setdefault(attribute.get("Name"), []).append(
                    (
                        float(frame.find("Time").get("Value")),
                        data(attribute.find("DataItem")),
                        getattr(attribute.find("Information"), "get", lambda _: "")("Value"),
                    )
                )
    return topology, geometry, fields


def match(points, reference):
    """Index into ``reference`` of the nearest row of each point (they must coincide)."""
    d = np.linalg.norm(points[:, None, :] - reference[None, :, :], axis=-1)
    assert np.allclose(d.min(axis=1), 0, atol=1e-12)
    return d.argmin(axis=1)
