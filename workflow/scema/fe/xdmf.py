"""Reading and annotating the XDMF files dolfinx writes (plain XML: no dolfinx needed).

dolfinx writes one temporal collection per function; it has no place for units or for the
meaning of integer codes, so :func:`annotate` adds an XDMF ``<Information>`` to each named
field, and :func:`time_series` reads a file back (times and HDF5 datasets per field), which
is what ParaView does when it opens the file as a sequence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

XINCLUDE = "http://www.w3.org/2001/XInclude"


def annotate(path: str | Path, information: dict[str, str]) -> None:
    """Add <Information Name="description" Value=...> to every Attribute named in ``information``."""
    if not information:
        return
    ET.register_namespace("xi", XINCLUDE)
    tree = ET.parse(path)
    for attribute in tree.getroot().iter("Attribute"):
        text = information.get(attribute.get("Name"))
        if text is not None:
            ET.SubElement(attribute, "Information", Name="description", Value=text)
    ET.indent(tree, space="  ")
    with open(path, "wb") as fh:
        fh.write(b'<?xml version="1.0"?>\n<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>\n')
        tree.write(fh, encoding="utf-8", xml_declaration=False)


def time_series(path: str | Path) -> dict[str, list[tuple[float, str, str, str]]]:
    """Field name -> [(time, h5 file, h5 dataset, description)] in file order."""
    root = ET.parse(path).getroot()
    series: dict[str, list] = {}
    for grid in root.iter("Grid"):
        if grid.get("CollectionType") != "Temporal":
            continue
        for frame in grid.findall("Grid"):
            time = float(frame.find("Time").get("Value"))
            for attribute in frame.findall("Attribute"):
                h5, dataset = attribute.find("DataItem").text.strip().split(":")
                info = attribute.find("Information")
                description = info.get("Value") if info is not None else ""
                series.setdefault(attribute.get("Name"), []).append((time, h5, dataset, description))
    return series
