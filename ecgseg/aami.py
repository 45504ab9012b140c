"""The AAMI EC57 beat classes and how beat labels are scored: plain data, no numpy, so the command line can
build its choices and help from it without slowing its start.

The classes follow ANSI/AAMI EC57 (as used by de Chazal et al. 2004 and Kachuee et al. 2018): N (normal and
bundle branch block beats), S (supraventricular ectopic), V (ventricular ectopic), F (fusion), Q (paced,
unclassifiable). A cut beat takes the class of the reference beat annotation within 150 ms (EC57's matching
window).
"""

from __future__ import annotations

__all__ = ["AAMI_CLASSES", "SYMBOL_TO_CLASS", "UNCLASSED_BEATS", "INTER_CLASSES", "TOLERANCE_S", "PROTOCOLS", "TEST_FRACTION"]

#: Class names in index order (class index 0..4 in labels, columns of probabilities).
AAMI_CLASSES = ("N", "S", "V", "F", "Q")

#: MIT-BIH beat annotation symbol -> AAMI class index. Symbols not here (+ ~ | x " [ ] ! ...) are not beats.
SYMBOL_TO_CLASS = {
    **dict.fromkeys("NLRej", 0),  # normal, bundle branch block, escape
    **dict.fromkeys("AaJS", 1),  # supraventricular ectopic
    **dict.fromkeys("VE", 2),  # ventricular ectopic
    "F": 3,  # fusion of ventricular and normal
    **dict.fromkeys("/fQ", 4),  # paced, fusion of paced and normal, unclassifiable
}

#: The other beat annotation codes of the WFDB standard (PhysioToolkit's ``isqrs``): B (bundle branch block beat,
#: unspecified), r (R-on-T premature ventricular contraction), n (supraventricular escape beat), ? (beat not classified
#: during learning). They are beats, but EC57's table above gives them no class: a cut beat on one is labelled -1.
UNCLASSED_BEATS = frozenset("Brn?")

#: Inter-patient work (de Chazal 2004) scores N, S, V, F: Q is a handful of beats once the paced records are out.
INTER_CLASSES = ("N", "S", "V", "F")

#: A cut beat and a reference beat match within this many seconds (EC57's 150 ms).
TOLERANCE_S = 0.15

#: Evaluation protocols (see ecgseg.protocols): inter-patient (train DS1, test DS2), patient (whole patients held
#: out, any database), intra-patient (a seeded random split of beats: optimistic), all (every labelled beat).
PROTOCOLS = ("inter", "patient", "intra", "all")

#: The share held out for testing: of the patients (patient protocol) or of the beats (intra).
TEST_FRACTION = 0.2
