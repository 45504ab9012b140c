"""Classifying beats: the one way from a beat file (or :class:`~ecgseg.beats.Beats`) to class probabilities.

:func:`classify_beats` is what ``ecgseg classify``, ``evaluate``, ``plot --predict``, ``report`` and Python
callers use: it chooses the model (:func:`~ecgseg.classify.config.choose_model`, a pure function), loads it,
builds what it reads from the beat file (:meth:`Classifier.inputs`: the beats, maybe their record's template,
their R-R or beat context, over the whole file) and runs the one batched forward loop (:func:`logits`).
:func:`load_classifier` is the first half, for a caller that needs the model's metadata or a subset of the beats
(``evaluate``'s protocol split).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..beatfile import CSV_CLASS, beat_arrays, cut_at, load_beats, scalar
from ..context import CONTEXT_FEATURES, CUT_FEATURES, cut_doubt, model_inputs
from ..scheme import DEFAULTS as SCHEME
from ..scheme import RECOMMENDED_PEAKS
from ..signal import MAX_RATE_ERROR
from ..terms import say, setting
from .config import SHIPPED, choice_line, choose_model, lacks, lead_doubt, needs_context
from .model import BeatNet, load_checkpoint

__all__ = ["check_segments", "check_beats", "logits", "predict_proba", "Classifier", "load_classifier",
           "classify_beats", "context_inputs"]


def check_segments(segments, input_length: int = SCHEME.length, name: str = "beats") -> np.ndarray:
    """Validate beats and return them as a C-contiguous (n, input_length) float32 array.

    Raises
    ------
    ValueError
        Not 2-D with ``input_length`` columns, not floating point, or holding NaN/inf.

    Examples
    --------
    >>> check_segments(np.zeros((3, 187))).dtype
    dtype('float32')
    >>> check_segments(np.zeros((3, 180)))
    Traceback (most recent call last):
    ...
    ValueError: beats have shape (3, 180), not (n_beats, 187); cut them with length=187
    """
    segments = np.asarray(segments)
    if segments.ndim == 1 and segments.size == input_length:
        segments = segments[None, :]
    if segments.ndim != 2 or segments.shape[1] != input_length:
        raise ValueError(
            f"{name} have shape {segments.shape}, not (n_beats, {input_length}); "
            f"cut them with {setting('length', input_length)}"
        )
    if not np.issubdtype(segments.dtype, np.floating):
        raise ValueError(f"{name} have dtype {segments.dtype}, not floating point; pass the float32 beats "
                         + say("`ecgseg segment` writes", "ecgseg.segment gives"))
    segments = np.ascontiguousarray(segments, dtype=np.float32)
    if not np.isfinite(segments).all():
        bad = int(np.count_nonzero(~np.isfinite(segments).all(axis=1)))
        raise ValueError(f"{name} hold NaN or infinite values in {bad} beats; drop or repair those beats first")
    return segments


def check_beats(segments, config, name: str = "beats") -> np.ndarray:
    """Beats (n, input_length) for a one-channel model, (n, in_channels, input_length) for one of several, checked.

    Examples
    --------
    >>> from ecgseg.classify.model import ModelConfig
    >>> check_beats(np.zeros((3, 2, 187)), ModelConfig(in_channels=2)).shape
    (3, 2, 187)
    """
    if config.in_channels == 1:
        return check_segments(segments, config.input_length, name)
    segments = np.asarray(segments)
    if segments.ndim != 3 or segments.shape[1:] != (config.in_channels, config.input_length):
        raise ValueError(f"{name} have shape {segments.shape}, not (n_beats, {config.in_channels}, "
                         f"{config.input_length}) for a model of {config.in_channels} input channels")
    return np.stack([check_segments(segments[:, c], config.input_length, name) for c in range(config.in_channels)],
                    axis=1)


def logits(net: BeatNet, segments, extra=None, *, batch_size: int = 1024, threads: int | None = None,
           name: str = "beats", progress=None) -> np.ndarray:
    """The network's raw outputs (n_beats, n_classes) float32 for beats and their context, in batches.

    The one forward loop of the package: inference and training's validation both run through it. The model is
    put in eval mode for the call and given back in the mode it was in.

    Parameters
    ----------
    net : BeatNet
    segments : numpy.ndarray, shape (n_beats, input_length), or (n_beats, in_channels, input_length)
        Checked with :func:`check_beats`.
    extra : numpy.ndarray, shape (n_beats, n_extra) float32, optional
        Per-beat context (the R-R or beat features), for a model that takes it (``net.config.n_extra``).
    batch_size : int
        Beats per forward pass.
    threads : int, optional
        Torch's intra-op threads for the call.
    name : str
        The beats' name in messages.
    progress : callable, optional
        Called after each batch with the number of beats in it (a progress bar's ``update``).
    """
    segments = check_beats(segments, net.config, name)
    context = None
    if net.config.n_extra:
        if extra is None:
            raise ValueError(f"this model needs {net.config.n_extra} context features per beat; pass extra=")
        extra = np.ascontiguousarray(extra, dtype=np.float32)
        if extra.shape != (segments.shape[0], net.config.n_extra):
            raise ValueError(f"extra has shape {extra.shape}, not (n_beats={segments.shape[0]}, {net.config.n_extra})")
        context = torch.from_numpy(extra)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    was_training = net.training
    net.eval()
    out = np.empty((segments.shape[0], net.config.n_classes), dtype=np.float32)
    try:
        with torch.inference_mode():
            x = torch.from_numpy(segments)
            for start in range(0, segments.shape[0], batch_size):
                batch = slice(start, start + batch_size)
                out[batch] = net(x[batch], None if context is None else context[batch]).numpy()
                if progress is not None:
                    progress(min(batch_size, segments.shape[0] - start))
    finally:
        torch.set_num_threads(previous)
        net.train(was_training)
    return out


def predict_proba(net: BeatNet, segments, extra=None, *, logit_bias=None, batch_size: int = 1024,
                  threads: int | None = None, name: str = "beats", progress=None) -> np.ndarray:
    """Class probabilities (n_beats, n_classes) float32 of beats and, for a model that takes it, their context.

    ``extra`` is the context (n_beats, n_extra): the R-R features (``rr`` of a beat file) or the beat context.
    ``logit_bias`` (n_classes,) is added to the logits before the softmax: the prior calibration stored in a
    checkpoint. This is the bare network on arrays: nothing here knows how the beats were cut (rate, ``pre_r_s``,
    R-peaks), so nothing is checked; :func:`classify_beats` chooses the model for a beat file or ``Beats`` and checks
    them.

    Examples
    --------
    >>> from ecgseg.classify.model import KachueeNet, ModelConfig
    >>> p = predict_proba(KachueeNet(ModelConfig()).eval(), np.zeros((10, 187), np.float32))
    >>> p.shape, bool(np.allclose(p.sum(axis=1), 1, atol=1e-5))
    ((10, 5), True)
    """
    out = torch.from_numpy(logits(net, segments, extra, batch_size=batch_size, threads=threads, name=name,
                                  progress=progress))
    if logit_bias is not None:
        out = out + torch.as_tensor(logit_bias, dtype=torch.float32)
    return torch.softmax(out, dim=1).numpy()


@dataclass(frozen=True)
class Classifier:
    """A loaded model and why it was chosen.

    Attributes
    ----------
    net : BeatNet
        The network, in eval mode.
    checkpoint : dict
        Its checkpoint (``class_names``, ``logit_bias``, ``metadata``, ``pre_r_s``, ``inputs``).
    path : pathlib.Path
        The model file.
    reason : str or None
        Why the shipped waveform-only model classifies a file the context model cannot take (None otherwise).
    choice : str
        One line saying which model this is and why it was chosen (``ecgseg classify`` prints it).
    doubt : str or None
        Set by :func:`classify_beats` when its classes are doubtful: a shipped model given another lead than it
        learnt (:func:`ecgseg.classify.config.lead_doubt`), a model reading the ``cut`` context of rows that are
        mostly not consecutive beats (:func:`ecgseg.context.cut_doubt`); ``"; "``-joined; None otherwise.
    """

    net: BeatNet
    checkpoint: dict
    path: Path
    reason: str | None = None
    choice: str = ""
    doubt: str | None = None

    @property
    def metadata(self) -> dict:
        return self.checkpoint.get("metadata", {})

    @property
    def class_names(self) -> tuple[str, ...]:
        """The model's classes in output order (N, S, V, F, Q for the shipped models)."""
        return tuple(self.checkpoint["class_names"])

    @property
    def description(self) -> str:
        """The shipped model's short description, or the model file."""
        return SHIPPED[self.path][0] if self.path in SHIPPED else str(self.path)

    def inputs(self, arrays: dict, name: str = "beats") -> tuple[np.ndarray, np.ndarray | None]:
        """What this model reads for every beat of a beat file: ``(x, extra)``, built over the whole file (a beat's
        context depends on its neighbours), so subsets are taken of the result (see
        :func:`ecgseg.context.model_inputs`).

        Raises
        ------
        ValueError
            The file lacks what the model reads, or its beats were cut with another ``pre_r_s``.
        """
        label = self.path.name if self.path in SHIPPED else str(self.path)
        inputs = self.checkpoint.get("inputs", ())
        why = lacks(arrays, inputs)
        if why is not None:
            raise ValueError(f"model {label} reads the rhythm around each beat, but {name} {why}; segment to an .npz "
                             f"with {setting('peaks', RECOMMENDED_PEAKS)}, or use a waveform-only model")
        if needs_context(inputs) and scalar(arrays, "peaks", name) == "rule":
            raise ValueError(f"model {label} reads the R-R intervals around each beat, but {name} was cut at the "
                             "paper's rule's R-peaks, which miss about half the beats, so those intervals are wrong; "
                             f"segment with {setting('peaks', RECOMMENDED_PEAKS)}, or use a waveform-only model")
        want_fs, have_fs = float(self.net.config.fs_out), float(scalar(arrays, "fs_out", name))
        if abs(want_fs - have_fs) > MAX_RATE_ERROR * want_fs:
            raise ValueError(f"{name} holds beats sampled at {have_fs:g} Hz, but model {label} reads beats sampled at "
                             f"{want_fs:g} Hz; segment with {setting('fs_out', want_fs)}")
        want = float(self.checkpoint.get("pre_r_s", 0.0))
        cut = cut_at(arrays, want, name)
        if cut is None:
            have = scalar(arrays, "pre_r_s", name)
            how = setting("peaks", RECOMMENDED_PEAKS) if needs_context(inputs) else setting("pre_r_s", want)
            raise ValueError(f"model {label} reads beats cut {want:g} s before the R-peak, but {name} holds beats cut "
                             f"{have:g} s before it; segment with {how}")
        length, want_length = np.shape(cut["segments"])[-1], self.net.config.input_length
        if CSV_CLASS in arrays and length != want_length:
            raise ValueError(f"{name} has {length + 1} columns, {length} values per beat then the class; model "
                             f"{self.path.name} reads {want_length} values per beat ({want_length + 1} columns, as "
                             "the heartbeat CSV files have)")
        return model_inputs(cut, self.net.config, name)

    def predict_proba(self, x, extra=None, *, calibrated: bool = True, batch_size: int = 1024,
                      threads: int | None = None, name: str = "beats", progress=None) -> np.ndarray:
        """Class probabilities (n_beats, n_classes) of inputs from :meth:`inputs` (all beats or any subset);
        ``calibrated=False`` ignores the model's logit biases (plain argmax); ``progress`` as for :func:`logits`."""
        bias = self.checkpoint["logit_bias"] if calibrated else None
        return predict_proba(self.net, x, extra, logit_bias=bias, batch_size=batch_size, threads=threads, name=name,
                             progress=progress)


def _as_arrays(beats, name: str) -> dict:
    if isinstance(beats, dict):
        return beats
    if isinstance(beats, (str, os.PathLike, bytes)):
        return load_beats(beats)
    if isinstance(beats, np.ndarray):  # the segments alone, as a plain .npy holds them (checked where read)
        return {"segments": beats}
    if not hasattr(beats, "segments"):
        raise TypeError(f"{name} is a {type(beats).__name__}; pass Beats, a beat file (dict of arrays or its path) or "
                        "an (n_beats, length) array of segments")
    return beat_arrays(beats, name)  # a Beats


def load_classifier(beats, model=None, *, name: str = "beats") -> Classifier:
    """The model for some beats, loaded and checked against them: the first half of :func:`classify_beats`.

    Parameters
    ----------
    beats : dict, Beats, path or numpy.ndarray
        A loaded beat file, :class:`~ecgseg.beats.Beats`, a beat file's path, or the segments alone.
    model : path, optional
        A model file; by default the shipped model :func:`~ecgseg.classify.config.choose_model` picks.
    name : str
        The beats' name in messages.

    Raises
    ------
    ValueError, FileNotFoundError
        The model cannot be loaded.
    """
    arrays = _as_arrays(beats, name)
    path, reason = choose_model(arrays, model, name)
    net, checkpoint = load_checkpoint(path)
    return Classifier(net, checkpoint, path, reason, choice_line(arrays, path, reason, name, given=model is not None))


def classify_beats(beats, model=None, *, name: str = "beats", batch_size: int = 1024,
                   threads: int | None = None, progress=None, classes=None) -> tuple[np.ndarray, Classifier]:
    """Class probabilities of beats with the model that fits them (the shipped one by default), and that model.

    Parameters
    ----------
    beats : dict, Beats, path or numpy.ndarray
        A beat file (loaded, or its path), the segments alone (an ``(n_beats, length)`` float array, as a plain
        ``.npy`` holds them), or :class:`~ecgseg.beats.Beats` from :func:`ecgseg.segment` or
        :func:`ecgseg.segment_record`.
    model : path, optional
        A model file; by default the best shipped model for the beats: the context model when their R-peaks are
        every beat (a detector's or the annotations, not the paper's rule) and they carry its cut (0.25 s before the
        R-peak: ``segments`` or ``model_segments``, which :func:`ecgseg.segment_record` and ``ecgseg segment -o
        beats.npz`` add), else the waveform-only model (``classifier.reason`` says why).
    name : str
        The beats' name in messages.
    batch_size, threads, progress
        As for :func:`logits`.
    classes : sequence of str, optional
        The classes the caller needs, in order (a figure or report drawn for the AAMI classes): a model that predicts
        others (one trained for another task, ``ecgseg train --classes``) is refused before any beat is classified.

    Returns
    -------
    probabilities : numpy.ndarray, shape (n_beats, n_classes) float32
        Columns in ``classifier.class_names`` order (the AAMI classes N, S, V, F, Q for the shipped models).
    classifier : Classifier
        The model used (``classifier.path``), its checkpoint, and why it was chosen (``classifier.choice``).

    Raises
    ------
    ValueError
        Beats the model cannot serve, in one sentence: sampled at another rate than it reads (``fs_out``), cut
        otherwise and without the cut it reads (``pre_r_s``), a context model given beats without R-R context or cut
        at the rule's R-peaks, another beat length, NaN; a model whose classes are not ``classes``.
    TypeError
        ``beats`` is none of the kinds above.

    Examples
    --------
    >>> probabilities, used = classify_beats({"segments": np.zeros((2, 187), np.float32)})
    >>> probabilities.shape, used.path.name
    ((2, 5), 'kachuee_ds1.pt')
    >>> print(used.choice)
    model: kachuee_ds1.pt, the shipped waveform-only model: beats holds the segments only, without their R-peaks (segment to an .npz with peaks='hamilton' for the context model)
    """
    arrays = _as_arrays(beats, name)
    classifier = load_classifier(arrays, model, name=name)
    if classes is not None and tuple(classifier.class_names) != tuple(classes):
        # a figure or report drawn for other classes would name this model's outputs wrongly, without a word
        raise ValueError(f"model {classifier.path.name} predicts {', '.join(classifier.class_names)}, not "
                         f"the classes {', '.join(classes)} drawn here; "
                         + say("use `ecgseg classify` (or `ecgseg evaluate`) with it, or omit --model",
                               "use classify_beats without classes= for it, or omit model="))
    x, extra = classifier.inputs(arrays, name)
    doubts = [lead_doubt(arrays, classifier.path, name)]
    if extra is not None and classifier.net.config.context == "cut":
        doubts.append(cut_doubt(extra, arrays.get("record"), name))
    if any(doubts):
        classifier = replace(classifier, doubt="; ".join(doubt for doubt in doubts if doubt))
    probabilities = classifier.predict_proba(x, extra, batch_size=batch_size, threads=threads, name=f"beats in {name}",
                                             progress=progress)
    return probabilities, classifier


def context_inputs(arrays: dict, context: str, config, name: str = "data", *, template: bool = False):
    """The inputs to train on and ``config`` fitted to the beat file: its cut, its context, its channels.

    ``context`` is ``none``, ``rr`` (the file's ``rr`` array), ``beat`` (:data:`ecgseg.context.CONTEXT_FEATURES`
    from the file's R-peaks and segments) or ``cut`` (:data:`ecgseg.context.CUT_FEATURES` from the segments alone); ``template`` adds each beat's record template as a second input channel.
    Returns ``(x, extra, config)``: the beats (n, length) or (n, 2, length), the context (n, n_extra) or None, and
    the model config with the file's segment length and ``pre_r_s``.

    Examples
    --------
    >>> from ecgseg.classify.model import ModelConfig
    >>> x, extra, config = context_inputs({"segments": np.zeros((2, 219)), "pre_r_s": 0.25}, "none", ModelConfig())
    >>> extra, config.input_length, config.pre_r_s
    (None, 219, 0.25)
    """
    if context not in ("none", "rr", "beat", "cut"):
        raise ValueError(f"unknown context {context!r}; use 'none', 'rr', 'beat' or 'cut'")
    segments = np.asarray(arrays["segments"])
    length = segments.shape[1] if segments.ndim == 2 else config.input_length
    n_extra = {"none": 0, "rr": 6, "beat": len(CONTEXT_FEATURES), "cut": len(CUT_FEATURES)}[context]
    if context == "rr" and "rr" in arrays:
        n_extra = np.shape(arrays["rr"])[1]
    config = replace(config, input_length=length, pre_r_s=scalar(arrays, "pre_r_s", name),
                     fs_out=float(scalar(arrays, "fs_out", name)), n_extra=n_extra,
                     context=context if context != "none" else "rr", in_channels=2 if template else 1)
    x, extra = model_inputs(arrays, config, name)
    return x, extra, config
