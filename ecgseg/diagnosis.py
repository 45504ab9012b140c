"""A record's diagnosis from its WFDB header comments: the record-level label of databases such as PTB.

The PTB Diagnostic ECG Database (Bousseljot, Kreiseler & Schnabel 1995, on PhysioNet as ``ptbdb``) states each
record's diagnostic class in its header comments, ``# Reason for admission: Myocardial infarction`` (or ``Healthy
control``, ``Bundle branch block``, ``Heart failure (NYHA 2)``, ... and ``n/a`` where the clinical summary is
missing). That text, as the header writes it, is the record's ``diagnosis`` in a beat file: the label of every beat
of the record, for tasks such as myocardial infarction against healthy control (Kachuee et al. 2018, part two).

No numpy, no wfdb: the header is read by :mod:`ecgseg.records`.
"""

from __future__ import annotations

import re

__all__ = ["DIAGNOSIS_FIELD", "MISSING", "header_diagnosis"]

#: The header comment field that holds the diagnosis (PTB).
DIAGNOSIS_FIELD = "Reason for admission"

#: Values that mean the header states no diagnosis: read as "".
MISSING = ("", "n/a", "na", "none", "unknown")

_FIELD = re.compile(rf"^\s*#?\s*{re.escape(DIAGNOSIS_FIELD)}\s*:\s*(.*?)\s*$", re.IGNORECASE)


def header_diagnosis(comments) -> str:
    """The diagnosis a WFDB header's comments state, as written there; ``""`` when they state none.

    Parameters
    ----------
    comments : iterable of str
        The header's comment lines (``wfdb.rdheader(path).comments``: without the ``#``, which is also accepted).

    Returns
    -------
    str
        The text after ``Reason for admission:`` (the first such line), inner whitespace collapsed; ``""`` when no
        line has the field or its value is missing (``n/a``, empty).

    Examples
    --------
    >>> header_diagnosis(["age: 81", "Reason for admission: Myocardial infarction", "Smoker: no"])
    'Myocardial infarction'
    >>> header_diagnosis(["# Reason for admission:  Heart failure (NYHA 2)"])
    'Heart failure (NYHA 2)'
    >>> header_diagnosis(["Reason for admission: n/a"]), header_diagnosis(["69 M 1085 1629 x1"])
    ('', '')
    """
    for line in comments or ():
        match = _FIELD.match(str(line))
        if match:
            value = " ".join(match.group(1).split())
            return "" if value.lower() in MISSING else value
    return ""
